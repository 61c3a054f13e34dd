"""A private deployment on the stack that bin/stack started: its own database and topic
prefix, and the real web, worker and vendor processes run against them. The integration
tests and the benchmark use it, so they never touch the data of the main stack. The Kafka
cluster is the environment's (`KAFKA_SETTINGS`: the local broker unless they say otherwise,
as `MINICRM_KAFKA_BROKERS=3 bin/chaos` does), and every client here connects through
`minicrm.kafka_clients`."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from minicrm import kafka_clients, sessions, topics
from minicrm.db import migrate
from minicrm.settings import SOLO_ROLES, Settings, load_settings
from minicrm.topics import create_topics

ROOT = Path(__file__).resolve().parents[2]
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5433/postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    def __init__(self, role: str, env: dict[str, str], log_path: Path) -> None:
        self.role = role
        self.instance = env.get("MINICRM_WORKER_INSTANCE", "")
        self.log_path = log_path
        self.log = open(log_path, "ab")  # noqa: SIM115 - the process writes it until `kill` closes it
        command = "worker" if role in SOLO_ROLES else role  # the live view and journeys: workers of their own
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "minicrm.cli", command],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        self.metrics_url: str | None = None

    def text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self.log.close()


# Where the cluster is and how to reach it: taken from the environment, all other settings not.
KAFKA_SETTINGS = frozenset(
    f"MINICRM_{f.name.upper()}"
    for f in dataclasses.fields(Settings)
    if f.name.startswith("kafka_") or f.name in ("replication_factor", "min_insync_replicas")
)
TOPICS = tuple(topic.name for topic in topics.ALL)
WORKER_TOPICS = tuple(topic.name for topic in topics.ALL if not topic.edge_publishes)


class Pipeline:
    """One private deployment: database, topics, and its processes."""

    def __init__(self, workdir: Path, **overrides: str) -> None:
        tag = uuid.uuid4().hex[:10]
        self.workdir = workdir
        self.database = f"minicrm_test_{tag}"
        self.web_port, self.vendor_port = free_port(), free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("MINICRM_") or k in KAFKA_SETTINGS},
            "MINICRM_DATABASE_URL": f"postgresql://minicrm@127.0.0.1:5433/{self.database}",
            "MINICRM_TOPIC_PREFIX": f"test-{tag}",
            "MINICRM_WEB_PORT": str(self.web_port),
            "MINICRM_VENDOR_PORT": str(self.vendor_port),
            "MINICRM_VENDOR_URL": f"http://127.0.0.1:{self.vendor_port}/vendor",
            "MINICRM_RECEIPTS_URL": f"http://127.0.0.1:{self.web_port}/api/receipts",
            "MINICRM_WORKER_DATADIR": str(workdir / "faust"),
            "MINICRM_CUSTOMER_WAIT": "2",
            "MINICRM_PARKED_ORDER_TTL": "6",
            "MINICRM_VENDOR_TIMEOUT": "2",
            "MINICRM_SESSION_SECRET": f"test-session-secret-{tag}-{uuid.uuid4().hex}",
            **overrides,
        }
        self.processes: list[Process] = []
        self.started: dict[str, int] = {}
        self.url = f"http://127.0.0.1:{self.web_port}"
        self.vendor_url = f"http://127.0.0.1:{self.vendor_port}"
        self.settings = None

    async def create(self) -> None:
        admin = await asyncpg.connect(ADMIN_DSN)
        try:
            await admin.execute(f'CREATE DATABASE "{self.database}" OWNER minicrm')
        finally:
            await admin.close()
        old = dict(os.environ)
        os.environ.update({k: v for k, v in self.env.items() if k.startswith("MINICRM_")})
        try:
            self.settings = load_settings()
        finally:
            os.environ.clear()
            os.environ.update(old)
        await migrate(self.settings.database_url)
        await create_topics(self.settings)

    def start(self, role: str, **overrides: str) -> Process:
        """Starts a process; a worker serves its metrics on a port of its own (`proc.metrics_url`)
        and is a static member of its group under the first name no running worker of its role
        has (`worker-0`, `worker-1`, ...), so a replacement takes the dead one's name and partitions."""
        n = self.started[role] = self.started.get(role, 0) + 1  # a log of its own, also for a replacement
        if role in SOLO_ROLES:
            overrides["MINICRM_WORKER_ROLES"] = role
        if role in ("worker", *SOLO_ROLES):
            overrides.setdefault("MINICRM_METRICS_PORT", str(free_port()))
            if "MINICRM_WORKER_INSTANCE" not in self.env:  # a deployment may ask for dynamic membership
                overrides.setdefault("MINICRM_WORKER_INSTANCE", self.free_instance(role))
        env = {**self.env, **overrides}
        proc = Process(role, env, self.workdir / f"{role}-{n - 1}.log")
        if role in ("worker", *SOLO_ROLES):
            proc.metrics_url = f"http://127.0.0.1:{env['MINICRM_METRICS_PORT']}/metrics"
        self.processes.append(proc)
        return proc

    def free_instance(self, role: str) -> str:
        taken = {p.instance for p in self.processes if p.role == role and p.popen.poll() is None}
        return next(f"{role}-{i}" for i in range(len(taken) + 1) if f"{role}-{i}" not in taken)

    async def start_all(self) -> None:
        web, vendor, worker, live = (self.start(role) for role in ("web", "vendor", "worker", "live"))
        await self.wait_http(f"{self.url}/readyz", web)
        await self.wait_http(f"{self.vendor_url}/vendor/stats", vendor)
        await self.wait_worker(worker)
        await self.wait_worker(live)

    async def wait_http(self, url: str, proc: Process, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                assert proc.popen.poll() is None, f"{proc.role} exited:\n{proc.text()[-3000:]}"
                try:
                    async with session.get(url) as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        raise TimeoutError(f"{url} not ready:\n{proc.text()[-3000:]}")

    async def wait_worker(self, proc: Process, timeout: float = 90, readies: int = 1) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert proc.popen.poll() is None, f"worker exited:\n{proc.text()[-3000:]}"
            if proc.text().count("[^Worker]: Ready") >= readies:
                return
            await asyncio.sleep(0.2)
        raise TimeoutError(f"worker not ready:\n{proc.text()[-3000:]}")

    @contextlib.asynccontextmanager
    async def extra_web(self, **overrides: str):
        """Another edge of this deployment with other settings: yields (its URL, its process)."""
        port = free_port()
        proc = self.start("web", MINICRM_WEB_PORT=str(port), **overrides)
        try:
            await self.wait_http(f"http://127.0.0.1:{port}/readyz", proc)
            yield f"http://127.0.0.1:{port}", proc
        finally:
            proc.kill()
            self.processes.remove(proc)

    def stop(self) -> None:
        # Workers first: a worker's SIGTERM waits for the records it is sending, which needs the vendor.
        for proc in sorted(self.processes, key=lambda p: p.role in ("web", "vendor")):
            proc.kill()
        self.processes.clear()

    async def drop(self) -> None:
        """Drops the deployment's database and its topics (its own and Faust's changelogs, all
        named after its prefix): a broker that kept them started slower with every test run."""
        admin = await asyncpg.connect(ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        finally:
            await admin.close()
        if self.settings is None:
            return
        kafka = AIOKafkaAdminClient(**kafka_clients.client_options(self.settings))
        await kafka.start()
        try:
            ours = (f"{self.settings.topic_prefix}.", f"{self.settings.topic_prefix}-")
            await kafka.delete_topics([t for t in await kafka.list_topics() if t.startswith(ours)])
        finally:
            await kafka.close()

    def topic(self, name: str) -> str:
        return self.settings.topic(name)

    async def end_offsets(self) -> dict[str, int]:
        """The sum of end offsets of each pipeline topic."""
        ends = await self.end_offsets_by_partition()
        return {name: sum(v for tp, v in ends.items() if tp.topic == self.topic(name)) for name in TOPICS}

    async def edge_offsets(self) -> dict[str, int]:
        """End offsets of the topics the web edge writes to: what a refused request must leave as
        it was. (Outcomes and vendor calls are the workers' alone, and move while an earlier
        campaign winds down.)"""
        return {name: n for name, n in (await self.end_offsets()).items() if name not in WORKER_TOPICS}

    async def lag(self, group: str | None = None) -> dict[str, int]:
        """Records not yet committed by the worker group (or `group`), per topic: where a stuck
        pipeline waits."""
        admin = AIOKafkaAdminClient(**kafka_clients.client_options(self.settings))
        await admin.start()
        try:
            committed = await admin.list_consumer_group_offsets(group or self.settings.topic_prefix)
        finally:
            await admin.close()
        ends = await self.end_offsets_by_partition()
        return {
            name: sum(
                ends[tp] - (committed[tp].offset if tp in committed else 0)
                for tp in ends
                if tp.topic == self.topic(name)
            )
            for name in TOPICS
        }

    async def end_offsets_by_partition(self) -> dict[TopicPartition, int]:
        consumer = AIOKafkaConsumer(**kafka_clients.client_options(self.settings))
        await consumer.start()
        try:
            parts = [TopicPartition(self.topic(n), p) for n in TOPICS for p in range(self.settings.partitions)]
            return await consumer.end_offsets(parts)
        finally:
            await consumer.stop()

    async def produce(self, name: str, values: list[bytes]) -> None:
        """Raw records straight onto a pipeline topic, past the edge, as another producer could."""
        producer = AIOKafkaProducer(**kafka_clients.producer_options(self.settings))
        await producer.start()
        try:
            for value in values:
                await producer.send_and_wait(self.topic(name), value)
        finally:
            await producer.stop()

    async def db(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.settings.database_url)

    async def new_user(self, email: str | None = None, role: str = "marketer") -> tuple[str, str]:
        """A user straight in the database, and a session token for them: (user id, token)."""
        user_id = uuid.uuid4()
        conn = await self.db()
        try:
            await conn.execute(
                "INSERT INTO users (id, email, name, role) VALUES ($1, $2, 'Test User', $3)",
                user_id,
                email or f"{user_id}@example.com",
                role,
            )
        finally:
            await conn.close()
        return str(user_id), sessions.issue(str(user_id), self.settings.session_secret, 3600)


@contextlib.asynccontextmanager
async def deployment(workdir: Path, **overrides: str) -> AsyncIterator[Pipeline]:
    """A private deployment with every process started; stopped and its database and topics
    dropped afterwards."""
    pipeline = Pipeline(workdir, **overrides)
    await pipeline.create()
    try:
        await pipeline.start_all()
        yield pipeline
    finally:
        pipeline.stop()
        await pipeline.drop()


async def vendor(pipeline: Pipeline, **behaviour: Any) -> dict:
    """Changes the deployment's vendor simulator's behaviour (`POST /vendor/control`)."""
    async with aiohttp.ClientSession() as s, s.post(f"{pipeline.vendor_url}/vendor/control", json=behaviour) as r:
        assert r.status == 200
        return await r.json()


async def vendor_stats(pipeline: Pipeline) -> dict:
    """What the deployment's vendor simulator took and reported (`GET /vendor/stats`)."""
    async with aiohttp.ClientSession() as s, s.get(f"{pipeline.vendor_url}/vendor/stats") as r:
        return await r.json()


async def eventually(check, timeout: float = 60, interval: float = 0.25) -> Any:
    """Polls `check()` (async) until it returns something truthy; returns it."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s; last value {last!r}")
