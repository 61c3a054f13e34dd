"""Profiles HTTP ingest: py-spy samples the web and worker processes of a private deployment
while the benchmark's ingest runs (`campaign.ingest`: N customers, then N one-item orders for
them, posted and stored; then N receipts). Writes py-spy's raw
(collapsed) stacks to bench/results/profile-{web,worker}.txt and prints each one's top functions.

    .venv/bin/python bench/profile_ingest.py [--records 40000] [--gil]   (with `bin/stack infra` up)

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
from pathlib import Path

import asyncpg

from campaign import ingest
from minicrm.localstack import ROOT, Pipeline

OUT = ROOT / "bench" / "results"


def top(path: Path, n: int = 12) -> list[tuple[float, str]]:
    """The functions with the most samples of their own, as (percent, function)."""
    own, total = collections.Counter(), 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        total += int(count)
        own[stack.split(";")[-1]] += int(count)
    return [(100 * c / total, f) for f, c in own.most_common(n)]


async def main(n: int, gil: bool) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    pipeline = Pipeline(Path(tempfile.mkdtemp(prefix="minicrm-profile-")))
    await pipeline.create()
    try:
        web, worker = pipeline.start("web"), pipeline.start("worker")
        await pipeline.wait_http(f"{pipeline.url}/readyz", web)
        await pipeline.wait_worker(worker)
        _, token = await pipeline.new_user()
        conn = await asyncpg.connect(pipeline.settings.database_url)
        spies = {name: subprocess.Popen([str(ROOT / ".venv" / "bin" / "py-spy"), "record", *(["--gil"] if gil else []),
                                          "-p", str(proc.popen.pid),
                                          "-f", "raw", "-r", "50", "-o", str(OUT / f"profile-{name}.txt")],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for name, proc in (("web", web), ("worker", worker))}
        print(json.dumps(await ingest(pipeline, conn, n, token), indent=2))
        await conn.close()
        for spy in spies.values():
            spy.send_signal(signal.SIGINT)
            spy.wait()
    finally:
        pipeline.stop()
        await pipeline.drop()
    for name in spies:
        path = OUT / f"profile-{name}.txt"
        print(f"\n{name}: {sum(int(line.rpartition(' ')[2]) for line in path.read_text().splitlines())} samples ({path})")
        for percent, function in top(path):
            print(f"  {percent:5.1f}%  {function}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=40_000)
    parser.add_argument("--gil", action="store_true", help="sample only threads holding the GIL (CPU, not waits)")
    args = parser.parse_args()
    asyncio.run(main(args.records, args.gil))
