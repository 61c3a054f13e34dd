"""Chaos: a campaign of N customers while faults are injected at random moments from a seed.

Runs a private deployment (own database and topics) on the stack bin/stack started: web,
an all-in-one worker, a second worker for the hot path (deliveries, receipts), and the
vendor simulator, which honours Idempotency-Key and never delivers a commId twice, as real
providers do. Faults: SIGKILL of either worker, SIGKILL of the web edge while receipts are
posted, a Kafka broker restart, a PostgreSQL restart (only where this checkout's stack runs
PostgreSQL: never someone else's), a vendor answering 30% 5xx, 429 with Retry-After, calls
that time out, and a 30 s outage, and the workers forgetting the vendor's body limit (10 kB,
the vendor's from the start, as a real vendor's is), so that their calls meet 413s until they
learn it again. On a cluster (`MINICRM_KAFKA_BROKERS=3 bin/chaos`), the
broker faults are "SIGKILL one broker" and "restart one broker" (SIGTERM: a controlled shutdown),
each recovering on the other two brokers while the broker is started again behind the run's back
(the next broker fault waits until it is back and every replica in sync), and every other fault
is one of them. One row per fault
(what, when, recovery seconds: from the fault's end until messages move again; calls and
messages the vendor saw again), then exactly one closing line:

    chaos: N faults, lost L, double-counted D, duplicate sends S, summaries K, recovery max R s

lost: log rows not final, or missing; double-counted: campaign counters against log rows;
duplicate sends: messages that reached the vendor again under a new Idempotency-Key (what a
provider honouring keys would deliver twice; this simulator also drops them by commId);
summaries: summary writes for the campaign.

    bin/chaos [--customers 100000] [--faults 20] [--seed S]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from harness import ROOT, Pipeline, vendor, vendor_stats
from minicrm import kafka_clients
from minicrm.outages import TRANSIENT
from minicrm.sql.deliveries import forget as forget_vendor_limit

sys.path.insert(0, str(Path(__file__).parent))
from campaign import seed

HOT = "deliveries,receipts"
VENDOR_FAULT_SECONDS = 5.0
VENDOR_BODY_LIMIT = 10_000  # bytes: the vendor's limit for the whole run (a 100-message call is ~30 kB)
FINISH_TIMEOUT = 900.0
STUCK = 120.0  # no message moved for this long after a fault: reported, and the run goes on
BROKER_FAULTS = ("SIGKILL one broker", "restart one broker")


class Chaos:
    def __init__(self, pipeline: Pipeline, rng: random.Random, brokers: int) -> None:
        self.pipeline, self.rng, self.brokers = pipeline, rng, brokers
        self.workers = {"all": pipeline.processes[-2], "hot": pipeline.processes[-1]}
        self.down: str | None = None  # a broker down, until `start_again`
        self.repairing: asyncio.Task | None = None  # that broker being started again and caught up

    async def restart_worker(self, which: str) -> None:
        proc = self.workers[which]
        proc.kill(signal.SIGKILL)
        self.pipeline.processes.remove(proc)
        roles = {"MINICRM_WORKER_ROLES": HOT} if which == "hot" else {}
        self.workers[which] = self.pipeline.start("worker", **roles)
        await self.pipeline.wait_worker(self.workers[which])

    async def restart_web(self) -> None:
        [web] = [p for p in self.pipeline.processes if p.role == "web"]
        web.kill(signal.SIGKILL)
        self.pipeline.processes.remove(web)
        await asyncio.sleep(self.rng.uniform(0.5, 3))  # receipts are refused meanwhile; the vendor retries
        web = self.pipeline.start("web")
        await self.pipeline.wait_http(f"{self.pipeline.url}/readyz", web)

    async def restart_server(self, which: str) -> None:
        await stack("restart", which)

    async def kill_broker(self) -> None:
        await self.broker_down("kill")

    async def restart_broker(self) -> None:
        await self.broker_down("stop")

    async def broker_down(self, how: str) -> None:
        """SIGKILL (`kill`) or SIGTERM (`stop`: a controlled shutdown) of one broker, once the one
        before is back and in sync; its recovery is measured on the other two (`start_again` then
        starts it behind the run's back)."""
        await self.repaired()
        self.down = f"kafka-{self.rng.randint(1, self.brokers)}"
        await stack(how, self.down)

    def start_again(self) -> None:
        """The broker down, started again while the run goes on, and caught up."""

        async def repair(broker: str) -> None:
            await stack("restart", broker)
            await self.in_sync()

        if self.down is not None:
            self.repairing = asyncio.create_task(repair(self.down))
            self.down = None

    async def repaired(self) -> None:
        if self.repairing is not None:
            await self.repairing
            self.repairing = None

    async def in_sync(self, timeout: float = 120) -> None:
        """Until every replica of every topic is in sync again, so that the next fault meets a whole cluster."""
        admin = AIOKafkaAdminClient(**kafka_clients.client_options(self.pipeline.settings))
        await admin.start()
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                with contextlib.suppress(KafkaError):  # a broker just back may not answer yet
                    described = await admin.describe_topics(await admin.list_topics())
                    if all(len(p["isr"]) == len(p["replicas"]) for t in described for p in t["partitions"]):
                        return
                await asyncio.sleep(0.5)
            print(f"  (replicas not all in sync after {timeout:.0f} s)", flush=True)
        finally:
            await admin.close()

    async def vendor_for(self, seconds: float, **behaviour) -> None:
        await vendor(self.pipeline, **behaviour)
        await asyncio.sleep(seconds)
        await vendor(self.pipeline, error_rate=0, throttle_rate=0, hang_rate=0)

    async def forget_limit(self) -> None:
        """The learnt body limit gone, as when it expires (`LIMIT_TRUSTED`): the workers split by
        the full size again and learn the limit from the vendor's 413s. The vendor's own limit
        stays what it was from the start: a real vendor's limit does not come and go, and one
        that did would refuse a replayed call it once took (see docs/operations.md)."""
        conn = await asyncpg.connect(self.pipeline.settings.database_url)
        try:
            await forget_vendor_limit(conn, self.pipeline.settings.vendor_url)
        finally:
            await conn.close()

    def faults(self) -> dict[str, Callable[[], Awaitable[None]]]:
        """Every fault this run may inject: the broker faults fit the cluster, and PostgreSQL is
        restarted only where this checkout's stack runs it."""
        if self.brokers > 1:
            broker: dict[str, Callable[[], Awaitable[None]]] = {
                "SIGKILL one broker": self.kill_broker,
                "restart one broker": self.restart_broker,
            }
        else:
            broker = {"Kafka broker restart": lambda: self.restart_server("kafka")}
        postgres = {"PostgreSQL restart": lambda: self.restart_server("postgres")} if own_postgres() else {}
        return {
            "SIGKILL worker (all roles)": lambda: self.restart_worker("all"),
            "SIGKILL worker (deliveries, receipts)": lambda: self.restart_worker("hot"),
            "SIGKILL web during receipts": self.restart_web,
            **broker,
            **postgres,
            "vendor 30% 5xx": lambda: self.vendor_for(VENDOR_FAULT_SECONDS, error_rate=0.3),
            "vendor 429 + Retry-After": lambda: self.vendor_for(VENDOR_FAULT_SECONDS, throttle_rate=0.5),
            "vendor 413 (learnt limit forgotten)": self.forget_limit,
            "vendor timeouts": lambda: self.vendor_for(VENDOR_FAULT_SECONDS, hang_rate=0.3, hang_seconds=8),
            "vendor 30 s outage": lambda: self.vendor_for(30, outage_seconds=30),
        }


def own_postgres() -> bool:
    """Whether the PostgreSQL serving the run is this checkout's (`bin/stack restart postgres` restarts that one)."""
    return (ROOT / ".stack" / "pg" / "postmaster.pid").exists()


async def stack(*args: str) -> None:
    await asyncio.to_thread(subprocess.run, [str(ROOT / "bin" / "stack"), *args], check=True, stdout=subprocess.DEVNULL)


async def broker_count(pipeline: Pipeline) -> int:
    admin = AIOKafkaAdminClient(**kafka_clients.client_options(pipeline.settings))
    await admin.start()
    try:
        return len((await admin.describe_cluster())["brokers"])
    finally:
        await admin.close()


async def query(pipeline: Pipeline, sql: str, *args):
    """One query on a fresh connection, retried through a PostgreSQL restart."""
    while True:
        try:
            conn = await asyncpg.connect(pipeline.settings.database_url, timeout=5)
            try:
                return await conn.fetchrow(sql, *args)
            finally:
                await conn.close()
        except TRANSIENT:
            await asyncio.sleep(0.5)


async def progress(pipeline: Pipeline, campaign_id: uuid.UUID) -> tuple[int, str, bool]:
    row = await query(
        pipeline,
        "SELECT sent_count + failed_count AS done, status, summary IS NOT NULL AS summarised"
        " FROM campaigns WHERE id = $1",
        campaign_id,
    )
    return row["done"], row["status"], row["summarised"]


async def recovery(pipeline: Pipeline, campaign_id: uuid.UUID) -> float:
    """Seconds until messages move again (or the campaign is done)."""
    start = time.monotonic()
    before, _, _ = await progress(pipeline, campaign_id)
    while time.monotonic() - start < STUCK:
        done, status, _ = await progress(pipeline, campaign_id)
        if done > before or status in ("COMPLETED", "FAILED"):
            return time.monotonic() - start
        await asyncio.sleep(0.1)
    return float("inf")


async def verdict(pipeline: Pipeline, campaign_id: uuid.UUID, n: int) -> tuple[int, int]:
    row = await query(
        pipeline,
        """
        SELECT c.sent_count, c.failed_count, c.pending_count,
               count(l.id) FILTER (WHERE l.status = 'SENT') AS sent,
               count(l.id) FILTER (WHERE l.status = 'FAILED') AS failed,
               count(l.id) FILTER (WHERE l.status = 'PENDING') AS pending, count(l.id) AS rows
        FROM campaigns c LEFT JOIN communication_log l ON l.campaign_id = c.id
        WHERE c.id = $1 GROUP BY c.id""",
        campaign_id,
    )
    lost = row["pending"] + max(0, n - row["rows"])
    double = (
        abs(row["sent_count"] - row["sent"])
        + abs(row["failed_count"] - row["failed"])
        + abs(row["pending_count"] - row["pending"])
    )
    return lost, double


async def main(n: int, faults: int, seed_value: int) -> None:
    rng = random.Random(seed_value)
    logging.getLogger("aiokafka").setLevel(logging.ERROR)  # a broker down is the point, not news
    print(f"chaos seed {seed_value}: {n:,} customers, {faults} faults", flush=True)
    # Paced (100-message batches, 5 calls a second per worker) so that the faults land mid-campaign.
    pipeline = Pipeline(
        Path(tempfile.mkdtemp(prefix="minicrm-chaos-")),
        MINICRM_BATCH_SIZE="100",
        MINICRM_VENDOR_RATE="10",  # calls a second, both workers together
        MINICRM_VENDOR_TIMEOUT="3",
        MINICRM_SIMULATOR_BODY_LIMIT=str(VENDOR_BODY_LIMIT),
    )
    await pipeline.create()
    try:
        conn = await asyncpg.connect(pipeline.settings.database_url)
        await seed(conn, n, uuid.uuid4().hex[:6])
        await conn.close()
        web, sim = pipeline.start("web"), pipeline.start("vendor")
        workers = [pipeline.start("worker"), pipeline.start("worker", MINICRM_WORKER_ROLES=HOT)]
        await pipeline.wait_http(f"{pipeline.url}/readyz", web)
        await pipeline.wait_http(f"{pipeline.vendor_url}/vendor/stats", sim)
        for w in workers:
            await pipeline.wait_worker(w)
        await vendor(pipeline, log_calls=True)  # each call's key and messages in vendor-0.log
        print(f"logs in {pipeline.workdir}", flush=True)
        chaos = Chaos(pipeline, rng, await broker_count(pipeline))
        names = list(chaos.faults())
        print(f"faults drawn from ({chaos.brokers} broker(s)): {', '.join(names)}", flush=True)
        _, token = await pipeline.new_user("chaos@minicrm.local")
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
            async with http.post(
                f"{pipeline.url}/api/campaigns",
                json={"name": f"Chaos {seed_value}", "ruleGroup": {}, "message": "Hi {{name}}, news from {{city}}"},
            ) as r:
                assert r.status == 201, await r.text()
                campaign_id = uuid.UUID((await r.json())["campaignId"])
        started = time.monotonic()
        table = []
        print(f"{'fault':<40} {'at s':>7} {'recovery s':>11} {'calls again':>12} {'messages again':>15}", flush=True)
        for i in range(faults):
            await asyncio.sleep(rng.uniform(0.5, 3.0))
            if (await progress(pipeline, campaign_id))[1] in ("COMPLETED", "FAILED"):
                print("  (the campaign finished before every fault was injected)")
                break
            # On a cluster every other fault is a broker's, so that every run has them.
            name = rng.choice(BROKER_FAULTS if chaos.brokers > 1 and i % 2 == 0 else names)
            before = await vendor_stats(pipeline)
            at = time.monotonic() - started
            await chaos.faults()[name]()
            took = await recovery(pipeline, campaign_id)
            chaos.start_again()
            after = await vendor_stats(pipeline)
            again = (
                after["repeated_calls"] - before["repeated_calls"],
                after["repeated_messages"] - before["repeated_messages"],
            )
            table.append((name, at, took))
            print(f"{name:<40} {at:7.1f} {took:11.1f} {again[0]:12,} {again[1]:15,}", flush=True)
        await chaos.repaired()
        deadline = time.monotonic() + FINISH_TIMEOUT
        while time.monotonic() < deadline:
            _, status, _ = await progress(pipeline, campaign_id)
            if status in ("COMPLETED", "FAILED"):  # COMPLETED comes with the summary
                break
            await asyncio.sleep(0.5)
        print(f"campaign {status} after {time.monotonic() - started:.1f} s", flush=True)
        lost, double = await verdict(pipeline, campaign_id, n)
        stats = await vendor_stats(pipeline)
        summaries = sum(
            log.read_text(errors="replace").count(f"campaign {campaign_id} summarised")
            for log in pipeline.workdir.glob("worker-*.log")
        )  # killed workers' logs too
        recovery_max = max((t for _, _, t in table), default=0.0)
        print(
            f"vendor: {stats['calls']:,} calls, {stats['accepted']:,} messages taken once, "
            f"{stats['repeated_calls']:,} calls and {stats['repeated_messages']:,} messages seen again "
            f"(same key: answered, not repeated)"
        )
        print(
            f"chaos: {len(table)} faults, lost {lost}, double-counted {double}, duplicate sends "
            f"{stats['repeated_past_key']}, summaries {summaries}, recovery max {recovery_max:.1f} s"
        )
    finally:
        pipeline.stop()
        await pipeline.drop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--faults", type=int, default=20)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    asyncio.run(main(args.customers, args.faults, args.seed if args.seed is not None else random.randrange(10**6)))
