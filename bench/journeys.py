"""Benchmark: journeys live. 100 active journeys over N customers while orders stream in.

Runs a private deployment (own database and topics) on the stack bin/stack started: web, one
pipeline worker, the journeys worker and the vendor simulator (10% failures), with a clock in
front of the vendor (bench/vendor_clock.py) that stamps each message's call. It seeds N customers
with COPY, creates 50 `enters_segment` journeys (a city, a visit count and a second order within
30 days) and 50 `order_placed` journeys (a city, a visit count, total spend over 55,000), then
posts orders of random customers at `--rate` a second for `--seconds`, as arrays of a
twentieth of the rate, 20 posts a second. Then it waits for every entry's outcome and reports:

- trigger_latency_p50_ms / p95 / max: order accepted by the edge → its message's vendor call;
- events_per_s: orders stored per second over the run (the rate the edge and ingest sustained);
- entries, messages, and the check that each entry has one log row and one vendor message;
- journeys_worker_rss_mb (peak) and its CPU seconds per 1,000 orders;
- recovery_seconds: the journeys worker SIGKILLed and started again, until it has taken and
  committed the change of an order posted at the restart;
- midnight's look-up of the customers whose verdict time alone may change, for the run's day;
- the state's size in PostgreSQL (members and entries, bytes a row).

    bin/bench --journeys [--customers 1000000] [--rate 5000] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg
import orjson
import psutil
from campaign import CITIES, cpu_seconds, cpu_used, seed

from harness import ROOT, Pipeline, save_result
from minicrm.sql import journeys as journeys_sql
from support.deployment import free_port

JOURNEYS_PER_KIND = 50
POSTS_PER_SECOND = 20


def journey_bodies(rng: random.Random) -> list[dict]:
    """Journeys on (city, visit) cells: a few of the 126 cells each, so orders enter a few hundred a second."""
    cells = [(city, visit) for city in CITIES for visit in range(21)]
    rng.shuffle(cells)
    bodies = []
    for i, (city, visit) in enumerate(cells[: 2 * JOURNEYS_PER_KIND]):
        cell = [
            {"attribute": "city", "operator": "=", "value": city},
            {"attribute": "visit", "operator": "=", "value": str(visit)},
        ]
        if i < JOURNEYS_PER_KIND:
            trigger = {
                "type": "enters_segment",
                "ruleGroup": {
                    "rules": [*cell, {"attribute": "orders_within", "days": 30, "operator": ">=", "value": "2"}]
                },
            }
        else:
            trigger = {
                "type": "order_placed",
                "ruleGroup": {"rules": [*cell, {"attribute": "total_spend", "operator": ">", "value": "55000"}]},
            }
        bodies.append({"name": f"Journey {i}", "trigger": trigger, "message": "Hi {{name}}", "reentry": "every"})
    return bodies


def order(customer: str, n: int) -> dict:
    return {
        "id": f"bench-{n}",
        "customerId": customer,
        "amount": "120.00",
        "status": "COMPLETED",
        "order_date": datetime.now(UTC).isoformat(),
    }


async def post_orders(
    session: aiohttp.ClientSession, customers: list[str], rate: int, seconds: float, rss: list[int], worker
) -> tuple[int, float]:
    """Posts orders at `rate` a second for `seconds`; returns (orders posted, seconds it took)."""
    per_post = max(1, rate // POSTS_PER_SECOND)
    rng = random.Random(7)
    posted, start = 0, time.perf_counter()
    in_flight: set[asyncio.Task] = set()

    async def post(batch: list[dict]) -> None:
        async with session.post("/api/orders", json=batch) as r:
            assert r.status == 202, await r.text()

    tick = 0
    while (elapsed := time.perf_counter() - start) < seconds:
        batch = [order(rng.choice(customers), posted + i) for i in range(per_post)]
        posted += per_post
        task = asyncio.create_task(post(batch))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
        tick += 1
        if tick % POSTS_PER_SECOND == 0:
            rss.append(worker.memory_info().rss)
            print(f"  {elapsed:5.1f} s  {posted:>9,} orders posted, {len(in_flight)} posts in flight", flush=True)
        await asyncio.sleep(max(0.0, start + tick / POSTS_PER_SECOND - time.perf_counter()))
    await asyncio.gather(*in_flight)
    return posted, time.perf_counter() - start


async def settled(conn: asyncpg.Connection, posted_ids_upto: int, timeout: float = 600) -> float:
    """Waits until every posted order is stored and every entry has its message's outcome."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM orders WHERE id LIKE 'bench-%') AS stored,"
            " (SELECT count(*) FROM journey_entries WHERE status IN ('WAITING', 'QUEUED')) AS open,"
            " (SELECT coalesce(sum(pending_count), 0) FROM campaigns) AS pending"
        )
        if row["stored"] >= posted_ids_upto and row["open"] == 0 and row["pending"] == 0:
            return time.perf_counter() - start
        await asyncio.sleep(0.5)
    raise TimeoutError(f"not settled: {dict(row)}")


async def recovery(pipeline: Pipeline, session: aiohttp.ClientSession, customer: str, killed) -> float:
    """SIGKILLs the journeys worker, starts another at once and posts an order: the seconds from
    the restart until the new worker has taken and committed the order's change."""
    killed.kill(signal.SIGKILL)
    restarted = time.perf_counter()
    replacement = pipeline.start("journeys")
    async with session.post("/api/orders", json=[order(customer, 10**9)]) as r:
        assert r.status == 202
    group = f"{pipeline.settings.topic_prefix}-journeys"
    while (await pipeline.lag(group))["customer-changes"] or "[^Worker]: Ready" not in replacement.text():
        await asyncio.sleep(0.1)
    return time.perf_counter() - restarted


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


async def main(n: int, rate: int, seconds: float) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="minicrm-bench-journeys-"))
    clock_port = free_port()
    pipeline = Pipeline(
        workdir, MINICRM_SIMULATOR_FAILURE_RATE="0.1", MINICRM_VENDOR_URL=f"http://127.0.0.1:{clock_port}/vendor"
    )
    await pipeline.create()
    arrivals_path = workdir / "arrivals.json"
    clock = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "vendor_clock.py"),
            "--port",
            str(clock_port),
            "--forward",
            f"{pipeline.vendor_url}/vendor",
            "--out",
            str(arrivals_path),
        ]
    )
    try:
        conn = await asyncpg.connect(pipeline.settings.database_url)
        print(f"Seeding {n:,} customers with COPY ...", flush=True)
        await seed(conn, n, uuid.uuid4().hex[:6])
        customers = [str(r["id"]) for r in await conn.fetch("SELECT id FROM customers")]
        web, vendor = pipeline.start("web"), pipeline.start("vendor")
        worker, journeys_worker = pipeline.start("worker"), pipeline.start("journeys")
        await pipeline.wait_http(f"{pipeline.url}/readyz", web)
        await pipeline.wait_http(f"{pipeline.vendor_url}/vendor/stats", vendor)
        await pipeline.wait_worker(worker)
        await pipeline.wait_worker(journeys_worker)
        _, token = await pipeline.new_user("bench@minicrm.local")
        async with aiohttp.ClientSession(
            base_url=pipeline.url, headers={"Authorization": f"Bearer {token}"}
        ) as session:
            for body in journey_bodies(random.Random(1)):
                async with session.post("/api/journeys", json=body) as r:
                    assert r.status == 201, await r.text()
            while await conn.fetchval("SELECT count(*) FROM journeys WHERE started_at IS NULL"):
                await asyncio.sleep(0.2)
            print(f"100 journeys started; posting {rate:,} orders a second for {seconds:.0f} s ...", flush=True)
            proc = psutil.Process(journeys_worker.popen.pid)
            rss = [proc.memory_info().rss]
            cpu_before = cpu_seconds(pipeline)
            posted, took = await post_orders(session, customers, rate, seconds, rss, proc)
            print(f"Posted {posted:,} orders in {took:.1f} s; waiting for every entry's outcome ...", flush=True)
            waited = await settled(conn, posted)
            cpu = cpu_used(cpu_before, cpu_seconds(pipeline))
            rss.append(proc.memory_info().rss)
            stored_over = took + waited
            recovered = await recovery(pipeline, session, customers[0], journeys_worker)
            await settled(conn, posted + 1)
        clock.send_signal(signal.SIGTERM)
        clock.wait(30)
        arrivals = orjson.loads(arrivals_path.read_bytes())
        entries = await conn.fetch(
            "SELECT e.id::text AS id, e.status, e.triggered_at, e.entered_at, l.id IS NOT NULL AS logged"
            " FROM journey_entries e LEFT JOIN communication_log l ON l.id = e.id"
        )
        messaged = [e for e in entries if e["status"] == "MESSAGED"]
        latencies = [
            (arrivals[e["id"]] - e["triggered_at"].timestamp()) * 1000
            for e in messaged
            if e["id"] in arrivals and e["triggered_at"] is not None
        ]
        entered = [(e["entered_at"] - e["triggered_at"]).total_seconds() * 1000 for e in messaged if e["triggered_at"]]
        # Midnight's look-up for one day, on the day all the run's orders fell on (the worst day).
        started = time.perf_counter()
        candidates = await journeys_sql.on_days(conn, datetime.now(UTC).date(), datetime.now(UTC).date())
        midnight_ms = (time.perf_counter() - started) * 1000
        sizes = await conn.fetchrow(
            "SELECT pg_total_relation_size('journey_members') AS members_bytes,"
            " (SELECT count(*) FROM journey_members) AS members,"
            " pg_total_relation_size('journey_entries') AS entries_bytes"
        )
        await conn.close()
    finally:
        if clock.poll() is None:
            clock.kill()
        pipeline.stop()
        await pipeline.drop()
    result = {
        "customers": n,
        "journeys": 2 * JOURNEYS_PER_KIND,
        "rate_asked_per_s": rate,
        "orders_posted": posted,
        "events_per_s": round(posted / stored_over),
        "posting_seconds": round(took, 2),
        "settle_seconds_after_posting": round(waited, 2),
        "entries": len(entries),
        "messages": len(messaged),
        "skipped": sum(e["status"] == "SKIPPED" for e in entries),
        "every_message_logged_once": all(e["logged"] for e in messaged),
        "messages_at_vendor": sum(e["id"] in arrivals for e in messaged),
        "trigger_latency_p50_ms": round(percentile(latencies, 50)),
        "trigger_latency_p95_ms": round(percentile(latencies, 95)),
        "trigger_latency_max_ms": round(max(latencies)),
        "entry_latency_p50_ms": round(percentile(entered, 50)),  # order accepted → entry committed
        "entry_latency_p95_ms": round(percentile(entered, 95)),
        "journeys_worker_rss_mb": round(max(rss) / 2**20, 1),
        "journeys_worker_cpu_s_per_1000_orders": round(cpu.get("journeys", 0) / posted * 1000, 3),
        "cpu_seconds": cpu,
        "recovery_seconds": round(recovered, 2),
        "midnight_lookup_ms_for_a_day": round(midnight_ms),
        "midnight_candidates_that_day": len(candidates),
        "state_members": sizes["members"],
        "state_member_bytes": round(sizes["members_bytes"] / max(1, sizes["members"])),
        "state_entry_bytes": round(sizes["entries_bytes"] / max(1, len(entries))),
    }
    path = save_result("journeys", n, result)
    print(json.dumps(result, indent=2))
    print(
        f"\nJourneys: {posted:,} orders at {result['events_per_s']:,}/s over {n:,} customers, 100 journeys: "
        f"{len(messaged):,} messages, order accepted → vendor call p50 {result['trigger_latency_p50_ms']} ms, "
        f"p95 {result['trigger_latency_p95_ms']} ms; journeys worker {result['journeys_worker_rss_mb']} MB; "
        f"back {result['recovery_seconds']} s after a SIGKILL. Written to {path.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=5_000)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    asyncio.run(main(args.customers, args.rate, args.seconds))
