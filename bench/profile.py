"""Profiles the pipeline: py-spy samples its Python processes while the benchmark's ingest or
campaign runs on a private deployment, and every process's CPU seconds are counted.

- `ingest` (`campaign.ingest`): N customers, then N one-item orders for them, posted and stored;
  then N receipts. Samples the web and the worker.
- `campaign` (`campaign.run_campaign`): N customers seeded with COPY, then a campaign to all of
  them, request to summary, with the vendor simulator failing 10%. Samples the web, the worker,
  the live worker and the vendor simulator.

Writes py-spy's raw (collapsed) stacks to bench/results/profile-<what>-<process>.txt and prints
each one's top functions.

    .venv/bin/python bench/profile.py ingest|campaign [--records N] [--gil]   (with `bin/stack infra` up)

`--gil` samples only while a thread holds the GIL: the CPU a process spends, without its waits.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import signal
import subprocess
import tempfile
import uuid
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from campaign import cpu_seconds, cpu_used, ingest, run_campaign, seed

from harness import ROOT, Pipeline
from minicrm import kafka_clients

OUT = ROOT / "bench" / "results"
ROLES = {"ingest": ("web", "worker"), "campaign": ("web", "worker", "live", "vendor")}


async def records_by_topic(pipeline: Pipeline) -> dict[str, int]:
    """Records written so far to each of the deployment's topics, its tables' changelogs included."""
    admin = AIOKafkaAdminClient(**kafka_clients.client_options(pipeline.settings))
    consumer = AIOKafkaConsumer(**kafka_clients.client_options(pipeline.settings))
    await admin.start()
    await consumer.start()
    try:
        prefix = pipeline.settings.topic_prefix
        names = [t for t in await admin.list_topics() if t.startswith(prefix)]
        parts = [
            TopicPartition(t["topic"], p["partition"])
            for t in await admin.describe_topics(names)
            for p in t["partitions"]
        ]
        ends = await consumer.end_offsets(parts)
        return {t.removeprefix(prefix): sum(n for tp, n in ends.items() if tp.topic == t) for t in sorted(names)}
    finally:
        await consumer.stop()
        await admin.close()


def top(path: Path, n: int = 12) -> list[tuple[float, str]]:
    """The functions with the most samples of their own, as (percent, function)."""
    own, total = collections.Counter(), 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        total += int(count)
        own[stack.split(";")[-1]] += int(count)
    return [(100 * c / total, f) for f, c in own.most_common(n)]


async def main(what: str, n: int, gil: bool) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    pipeline = Pipeline(Path(tempfile.mkdtemp(prefix="minicrm-profile-")), MINICRM_SIMULATOR_FAILURE_RATE="0.1")
    await pipeline.create()
    paths = {role: OUT / f"profile-{what}-{role}.txt" for role in ROLES[what]}
    try:
        conn = await asyncpg.connect(pipeline.settings.database_url)
        if what == "campaign":
            await seed(conn, n, uuid.uuid4().hex[:6])
        processes = {role: pipeline.start(role) for role in ROLES[what]}
        await pipeline.wait_http(f"{pipeline.url}/readyz", processes["web"])
        if "vendor" in processes:
            await pipeline.wait_http(f"{pipeline.vendor_url}/vendor/stats", processes["vendor"])
        for role in ("worker", "live"):
            if role in processes:
                await pipeline.wait_worker(processes[role])
        _, token = await pipeline.new_user()
        spies = [
            subprocess.Popen(
                [
                    str(ROOT / ".venv" / "bin" / "py-spy"),
                    "record",
                    *(["--gil"] if gil else []),
                    "-p",
                    str(processes[role].popen.pid),
                    "-f",
                    "raw",
                    "-r",
                    "200",
                    "-o",
                    str(path),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for role, path in paths.items()
        ]
        before, records = cpu_seconds(pipeline), await records_by_topic(pipeline)
        if what == "campaign":
            result = await run_campaign(pipeline, conn, n, token)
            result.pop("progress")
        else:
            result = {**await ingest(pipeline, conn, n, token), "cpu_seconds": cpu_used(before, cpu_seconds(pipeline))}
        written = await records_by_topic(pipeline)
        result["records_by_topic"] = {t: n - records.get(t, 0) for t, n in written.items() if n > records.get(t, 0)}
        print(json.dumps(result, indent=2))
        await conn.close()
        for spy in spies:
            spy.send_signal(signal.SIGINT)
            spy.wait()
    finally:
        pipeline.stop()
        await pipeline.drop()
    for role, path in paths.items():
        print(
            f"\n{role}: {sum(int(line.rpartition(' ')[2]) for line in path.read_text().splitlines())} samples ({path})"
        )
        for percent, function in top(path):
            print(f"  {percent:5.1f}%  {function}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=sorted(ROLES))
    parser.add_argument("--records", type=int, default=40_000, help="records to ingest, or customers in the campaign")
    parser.add_argument("--gil", action="store_true", help="sample only threads holding the GIL (CPU, not waits)")
    args = parser.parse_args()
    asyncio.run(main(args.what, args.records, args.gil))
