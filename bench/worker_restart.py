"""Recovery of a SIGKILLed worker restarted at once: seconds until its partitions move again.

Each run is a private deployment (its own database and topics) with one worker of every role,
the web edge and the vendor simulator, and a campaign paced so that it runs throughout (100-message
calls, 5 a second). Once the vendor takes calls, the worker is SIGKILLed and a new one started at
once under the same name (`MINICRM_WORKER_INSTANCE`; `--before`: none, and the 10 s session
timeout, as before static membership). Measured from the kill: the seconds until the new worker is ready, and until the
vendor takes its next call (the worker's partitions move again).

    .venv/bin/python bench/worker_restart.py [--runs 3] [--before]

The last line: `worker restart (static|before): ready R s, moving again M s (each run: ...)`.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import asyncpg

from harness import Pipeline, vendor_stats

sys.path.insert(0, str(Path(__file__).parent))
from campaign import seed

CUSTOMERS = 20_000


async def one_run(before: bool) -> tuple[float, float]:
    """(seconds from the kill until the new worker is ready, until the vendor takes a call)."""
    pipeline = Pipeline(
        Path(tempfile.mkdtemp(prefix="minicrm-worker-restart-")),
        MINICRM_BATCH_SIZE="100",
        MINICRM_VENDOR_RATE="5",
    )
    await pipeline.create()
    try:
        conn = await asyncpg.connect(pipeline.settings.database_url)
        await seed(conn, CUSTOMERS, uuid.uuid4().hex[:6])
        await conn.close()
        membership = {"MINICRM_WORKER_INSTANCE": "", "MINICRM_WORKER_SESSION_TIMEOUT": "10"} if before else {}
        web, sim, worker = pipeline.start("web"), pipeline.start("vendor"), pipeline.start("worker", **membership)
        await pipeline.wait_http(f"{pipeline.url}/readyz", web)
        await pipeline.wait_http(f"{pipeline.vendor_url}/vendor/stats", sim)
        await pipeline.wait_worker(worker)
        _, token = await pipeline.new_user()
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
            body = {"name": "Restart", "ruleGroup": {}, "message": "Hi {{name}}"}
            async with http.post(f"{pipeline.url}/api/campaigns", json=body) as r:
                assert r.status == 201, await r.text()
        while (await vendor_stats(pipeline))["calls"] < 10:
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)  # a commit or two past the first calls
        worker.kill(signal.SIGKILL)
        killed = time.monotonic()
        calls = (await vendor_stats(pipeline))["calls"]
        pipeline.processes.remove(worker)
        successor = pipeline.start("worker", **membership)

        async def ready() -> float:
            await pipeline.wait_worker(successor)
            return time.monotonic() - killed

        ready_after = asyncio.ensure_future(ready())
        while (await vendor_stats(pipeline))["calls"] == calls:
            await asyncio.sleep(0.05)
        return await ready_after, time.monotonic() - killed
    finally:
        pipeline.stop()
        await pipeline.drop()


async def main(runs: int, before: bool) -> None:
    results = [await one_run(before) for _ in range(runs)]
    kind = "before" if before else "static"
    print(
        f"worker restart ({kind}): ready {statistics.median(r for r, _ in results):.1f} s, "
        f"moving again {statistics.median(m for _, m in results):.1f} s (median of {runs}; each run, "
        f"ready/moving: {', '.join(f'{r:.1f}/{m:.1f}' for r, m in results)})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", action="store_true", help="dynamic membership, 10 s session: as before")
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.before))
