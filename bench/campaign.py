"""Benchmark: a campaign of N customers end to end, beside the machine's floor in the same run.

Runs a private deployment (own database and topics) on the stack bin/stack started: web,
one worker and the vendor simulator (10% failures). It seeds N customers with COPY, then
times POST /api/campaigns to the stored summary, samples the worker's memory, measures
HTTP ingest of customers, orders and receipts, and measures the floor on the same data:
raw COPY and batched UPDATE of N rows in PostgreSQL, raw produce and consume of N records
of delivery size in Kafka. Prints the figures and writes them to bench/results/.

    bin/bench [--customers N] [--workers K]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import asyncpg
import orjson
import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from minicrm import webhooks
from minicrm.localstack import ROOT, Pipeline

CITIES = ["Mumbai", "Delhi", "Pune", "Chennai", "Kolkata", "Jaipur"]
CHUNK = 50_000


def customer_rows(start: int, stop: int, tag: str):
    rng = random.Random(start)
    for i in range(start, stop):
        yield (uuid.uuid4(), f"Bench Customer {i}", f"{tag}.{i}@bench.example", f"{7_000_000_000 + i}",
               rng.choice(CITIES), rng.randint(0, 60_000), rng.randint(0, 20), None)


async def seed(conn: asyncpg.Connection, n: int, tag: str) -> float:
    start = time.perf_counter()
    for lo in range(0, n, CHUNK):
        await conn.copy_records_to_table(
            "customers", records=customer_rows(lo, min(n, lo + CHUNK), tag),
            columns=["id", "name", "email", "phone", "city", "total_spend", "visit", "last_order_date"],
        )
    await conn.execute("ANALYZE customers")
    return time.perf_counter() - start


async def floor_postgres(conn: asyncpg.Connection, n: int) -> dict[str, float]:
    await conn.execute(
        "CREATE TEMP TABLE floor_log (id uuid PRIMARY KEY, campaign_id uuid, customer_id uuid, customer_name text,"
        " email text, phone text, personalized_msg text, status text, delivered_at timestamptz)"
    )
    campaign = uuid.uuid4()
    ids = [uuid.uuid4() for _ in range(n)]
    start = time.perf_counter()
    for lo in range(0, n, CHUNK):
        await conn.copy_records_to_table("floor_log", records=(
            (i, campaign, uuid.uuid4(), "Bench Customer", "x@bench.example", "7000000000",
             "Hi Bench Customer, news from Mumbai", "PENDING", None) for i in ids[lo:lo + CHUNK]))
    copy = time.perf_counter() - start
    start = time.perf_counter()
    for lo in range(0, n, 1000):
        part = ids[lo:lo + 1000]
        await conn.execute(
            "UPDATE floor_log l SET status = u.status, delivered_at = now() FROM unnest($1::uuid[], $2::text[])"
            " AS u(id, status) WHERE l.id = u.id", part, ["SENT"] * len(part))
    update = time.perf_counter() - start
    await conn.execute("DROP TABLE floor_log")
    return {"copy_seconds": round(copy, 3), "batched_update_seconds": round(update, 3)}


async def floor_kafka(bootstrap: str, n: int) -> dict[str, float]:
    topic = f"bench-floor-{uuid.uuid4().hex[:8]}"
    value = orjson.dumps({"commId": str(uuid.uuid4()), "campaignId": str(uuid.uuid4()), "customerId": str(uuid.uuid4()),
                          "name": "Bench Customer", "email": "x@bench.example", "phone": "7000000000",
                          "personalized_msg": "Hi Bench Customer, news from Mumbai"})
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=4, replication_factor=1)])
    await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=1024 * 1024,
                                enable_idempotence=True)
    await producer.start()
    start = time.perf_counter()
    futures = [await producer.send(topic, value) for _ in range(n)]
    await asyncio.gather(*futures)
    produce = time.perf_counter() - start
    await producer.stop()
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                max_partition_fetch_bytes=8 * 1024 * 1024)
    await consumer.start()
    start = time.perf_counter()
    seen = 0
    while seen < n:
        batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
        seen += sum(len(v) for v in batches.values())
    consume = time.perf_counter() - start
    await consumer.stop()
    return {"kafka_produce_seconds": round(produce, 3), "kafka_consume_seconds": round(consume, 3)}


async def http_ingest(pipeline: Pipeline, n: int, token: str, buyers: list[str]) -> dict[str, float]:
    """Records per second the edge accepts (202/201 means the broker has them), 4 clients.
    Orders are for `buyers`, stored customers: the edge refuses orders for unknown ones."""
    tag = uuid.uuid4().hex[:6]
    customers = [{"name": f"Http Customer {i}", "email": f"http.{tag}.{i}@bench.example", "city": "HttpCity"}
                 for i in range(n)]
    orders = [{"id": f"http-{tag}-{i}", "customerId": buyers[i % len(buyers)], "amount": 10, "status": "PENDING",
               "items": [{"name": "x", "quantity": 1, "unitPrice": 10, "total": 10}]} for i in range(n)]
    receipts = [{"commId": str(uuid.uuid4()), "campaignId": str(uuid.uuid4()), "status": "SENT"} for _ in range(n)]
    secret = pipeline.settings.webhook_secrets[0]
    results = {}
    async with aiohttp.ClientSession(base_url=pipeline.url, headers={"Authorization": f"Bearer {token}"}) as session:
        async def send(path: str, items: list, signed: bool) -> None:
            queue = [items[i:i + 1000] for i in range(0, len(items), 1000)]

            async def client():
                while queue:
                    body = orjson.dumps(queue.pop())
                    headers = {"Content-Type": "application/json", **(webhooks.sign(secret, body) if signed else {})}
                    async with session.post(path, data=body, headers=headers) as r:
                        assert r.status < 300, await r.text()

            await asyncio.gather(*(client() for _ in range(4)))

        for name, path, items, signed in (("customers", "/api/customers", customers, False),
                                          ("orders", "/api/orders", orders, False),
                                          ("receipts", "/api/receipts", receipts, True)):
            start = time.perf_counter()
            await send(path, items, signed)
            results[f"http_{name}_per_second"] = round(n / (time.perf_counter() - start))
    return results


async def run_campaign(pipeline: Pipeline, conn: asyncpg.Connection, n: int, token: str) -> dict:
    workers = [psutil.Process(p.popen.pid) for p in pipeline.processes if p.role == "worker"]
    peak = [max(w.memory_info().rss for w in workers)]
    baseline = peak[0]
    segment = {"combinator": "AND", "rules": [{"attribute": "city", "operator": "!=", "value": "HttpCity"}]}
    async with aiohttp.ClientSession(base_url=pipeline.url, headers={"Authorization": f"Bearer {token}"}) as session:
        start = time.perf_counter()
        async with session.post("/api/campaigns", json={
            "name": f"Benchmark {n:,}", "ruleGroup": segment,
            "message": "Hi {{name}}, news from {{city}}",
        }) as r:
            assert r.status == 201, await r.text()
            campaign_id = uuid.UUID((await r.json())["campaignId"])
    last_print = 0.0
    while True:
        row = await conn.fetchrow(
            "SELECT status, audience_size, sent_count, failed_count, summary IS NOT NULL AS done"
            " FROM campaigns WHERE id = $1", campaign_id)
        peak.append(max(w.memory_info().rss for w in workers))
        elapsed = time.perf_counter() - start
        if row and elapsed - last_print > 1:
            last_print = elapsed
            print(f"  {elapsed:6.1f} s  {row['status']:<9} {row['sent_count'] + row['failed_count']:>9,}"
                  f" / {row['audience_size'] or 0:,}", flush=True)
        if row and row["done"]:
            break
        await asyncio.sleep(0.05)
    total = time.perf_counter() - start
    assert row["sent_count"] + row["failed_count"] == row["audience_size"] == n, dict(row)
    return {
        "request_to_summary_seconds": round(total, 3),
        "deliveries_per_second": round(n / total),
        "sent": row["sent_count"], "failed": row["failed_count"],
        "worker_rss_baseline_mb": round(baseline / 2**20, 1),
        "worker_rss_peak_mb": round(max(peak) / 2**20, 1),
    }


async def main(n: int, workers: int, http_n: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="minicrm-bench-"))
    pipeline = Pipeline(workdir, MINICRM_SIMULATOR_FAILURE_RATE="0.1")
    await pipeline.create()
    try:
        conn = await asyncpg.connect(pipeline.settings.database_url)
        print(f"Seeding {n:,} customers with COPY ...", flush=True)
        seed_seconds = await seed(conn, n, uuid.uuid4().hex[:6])
        web, vendor = pipeline.start("web"), pipeline.start("vendor")
        started = [pipeline.start("worker") for _ in range(workers)]
        await pipeline.wait_http(f"{pipeline.url}/readyz", web)
        await pipeline.wait_http(f"{pipeline.vendor_url}/vendor/stats", vendor)
        for w in started:
            await pipeline.wait_worker(w)
        await asyncio.sleep(2 if workers > 1 else 0)
        print(f"Campaign of {n:,} customers: POST /api/campaigns to summary stored", flush=True)
        _, token = await pipeline.new_user("bench@minicrm.local")
        campaign = await run_campaign(pipeline, conn, n, token)
        print(f"Measuring HTTP ingest ({http_n:,} records each) ...", flush=True)
        buyers = [str(r["id"]) for r in await conn.fetch("SELECT id FROM customers LIMIT 10000")]
        ingest = await http_ingest(pipeline, http_n, token, buyers)
        print("Measuring the floor on the same machine ...", flush=True)
        floor = {**await floor_postgres(conn, n), **await floor_kafka(pipeline.settings.kafka_bootstrap, n)}
        floor_total = sum(floor.values())
        await conn.close()
    finally:
        pipeline.stop()
        await pipeline.drop()
    result = {
        "customers": n, "workers": workers, "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "seed_copy_seconds": round(seed_seconds, 3), **campaign, **ingest,
        "floor": {**floor, "total_seconds": round(floor_total, 3)},
        "ratio_to_floor": round(campaign["request_to_summary_seconds"] / floor_total, 2),
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"campaign-{n}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print(f"\nRequest to summary: {campaign['request_to_summary_seconds']:.2f} s for {n:,} customers "
          f"({campaign['deliveries_per_second']:,}/s); floor (COPY + UPDATE + produce + consume of the same "
          f"rows): {floor_total:.2f} s; ratio {result['ratio_to_floor']}. Written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--http-records", type=int, default=20_000)
    args = parser.parse_args()
    asyncio.run(main(args.customers, args.workers, args.http_records))
