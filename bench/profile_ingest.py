"""Profiles HTTP ingest: py-spy samples the web and worker processes of a private deployment
while N customers, then N one-item orders for them, are posted and stored. Writes py-spy's raw
(collapsed) stacks to bench/results/profile-{web,worker}.txt and prints each one's top functions.

    .venv/bin/python bench/profile_ingest.py [--records 40000]   (with `bin/stack infra` up)
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import asyncpg

from campaign import post_all, stored
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


async def main(n: int) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    pipeline = Pipeline(Path(tempfile.mkdtemp(prefix="minicrm-profile-")))
    await pipeline.create()
    try:
        web, worker = pipeline.start("web"), pipeline.start("worker")
        await pipeline.wait_http(f"{pipeline.url}/readyz", web)
        await pipeline.wait_worker(worker)
        _, token = await pipeline.new_user()
        conn = await asyncpg.connect(pipeline.settings.database_url)
        tag = uuid.uuid4().hex[:6]
        city = f"Profile-{tag}"
        spies = {name: subprocess.Popen([str(ROOT / ".venv" / "bin" / "py-spy"), "record", "-p", str(proc.popen.pid),
                                          "-f", "raw", "-r", "50", "-o", str(OUT / f"profile-{name}.txt")],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for name, proc in (("web", web), ("worker", worker))}
        async with aiohttp.ClientSession(base_url=pipeline.url, headers={"Authorization": f"Bearer {token}"}) as s:
            customers = [{"name": f"Profile Customer {i}", "email": f"p.{tag}.{i}@profile.example", "city": city}
                         for i in range(n)]
            start = time.perf_counter()
            await post_all(s, "/api/customers", customers)
            took = await stored(conn, "SELECT count(*) FROM customers WHERE city = $1", city, n, start)
            print(f"customers stored {n / took:,.0f}/s")
            ids = [str(r["id"]) for r in await conn.fetch("SELECT id FROM customers WHERE city = $1", city)]
            orders = [{"id": f"p-{tag}-{i}", "customerId": ids[i], "amount": 10, "status": "COMPLETED",
                       "items": [{"name": "x", "quantity": 1, "unitPrice": 10, "total": 10}]} for i in range(n)]
            start = time.perf_counter()
            await post_all(s, "/api/orders", orders)
            took = await stored(conn, "SELECT count(*) FROM orders WHERE id LIKE $1", f"p-{tag}-%", n, start)
            print(f"orders stored {n / took:,.0f}/s")
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
    asyncio.run(main(parser.parse_args().records))
