"""Benchmark: a campaign of N customers end to end, and ingest until stored, beside the floor.

Runs a private deployment (own database and topics) on the stack bin/stack started: web,
K workers, the live worker and the vendor simulator (10% failures). It seeds N customers
with COPY, then times POST /api/campaigns to the stored summary (sampling the workers'
memory and the campaign's progress, plotted to a PNG) and right after it measures the
campaign's database floor on the same machine: COPY of N log rows into a table shaped as the
log (its constraints and the indexes its reads need), a batched UPDATE moving them from
PENDING, and Kafka produce and consume of the same bytes in the pipeline's record sizes (1,000
messages a record); and the same into a bare table with a primary key only, for reference.
Then it times HTTP ingest of customers and of orders for them until PostgreSQL holds them
all, and right after it ingest's floor: COPY of the same customers, orders and items into
tables shaped as theirs, and a batched UPDATE moving each order's customer. Prints the
figures and writes them to bench/results/.

With --attribution, it then times M orders of the campaign's own customers, dated now, each
credited to the campaign in the transaction that stores it, beside the ingest phase's orders
(customers never messaged: the same look-up finds nothing to credit) and the same floor.

    bin/bench [--customers N] [--workers K] [--http-records M] [--attribution]
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
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import aiohttp
import asyncpg
import orjson
import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from harness import ROOT, Pipeline, save_result
from minicrm import kafka_clients, topics, webhooks
from minicrm.settings import Settings
from minicrm.sql.planning import BY_KEY, planned

CITIES = ["Mumbai", "Delhi", "Pune", "Chennai", "Kolkata", "Jaipur"]
CHUNK = 50_000


def cpu_seconds(pipeline: Pipeline) -> dict[str, float]:
    """CPU seconds used so far by each part on this machine: the pipeline's processes by role,
    PostgreSQL (its server processes), Kafka (the JVM), this benchmark, and everything else."""
    roles = {p.popen.pid: p.role for p in pipeline.processes}
    used: dict[str, float] = {}
    for proc in psutil.process_iter(["pid", "ppid", "name"]):
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        name = proc.info["name"] or ""
        if proc.info["pid"] in roles:
            part = roles[proc.info["pid"]]
        elif name == "postgres":
            part = "postgres"
        elif name == "java":
            part = "kafka"
        elif proc.info["pid"] == os.getpid():
            part = "benchmark"
        else:
            part = "other"
        used[part] = used.get(part, 0.0) + times.user + times.system
    return used


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    used = {part: round(after[part] - before.get(part, 0.0), 2) for part in after}
    return {part: seconds for part, seconds in sorted(used.items(), key=lambda kv: -kv[1]) if seconds >= 0.01}


def customer_rows(start: int, stop: int, tag: str):
    rng = random.Random(start)
    for i in range(start, stop):
        yield (
            uuid.uuid4(),
            f"Bench Customer {i}",
            f"{tag}.{i}@bench.example",
            f"{7_000_000_000 + i}",
            rng.choice(CITIES),
            rng.randint(0, 60_000),
            rng.randint(0, 20),
            None,
        )


async def seed(conn: asyncpg.Connection, n: int, tag: str) -> float:
    start = time.perf_counter()
    for lo in range(0, n, CHUNK):
        await conn.copy_records_to_table(
            "customers",
            records=customer_rows(lo, min(n, lo + CHUNK), tag),
            columns=["id", "name", "email", "phone", "city", "total_spend", "visit", "last_order_date"],
        )
    await conn.execute("ANALYZE customers")
    return time.perf_counter() - start


async def shaped_like(conn: asyncpg.Connection, table: str) -> str:
    """An empty table `floor_<table>` shaped as `table`: its defaults, constraints (not foreign
    keys), indexes and storage options (fillfactor), WAL-logged."""
    name = f"floor_{table}"
    await conn.execute(f"CREATE TABLE {name} (LIKE {table} INCLUDING ALL)")
    for option in await conn.fetchval("SELECT reloptions FROM pg_class WHERE oid = $1::regclass", table) or []:
        await conn.execute(f"ALTER TABLE {name} SET ({option})")
    return name


async def copy_seconds(conn: asyncpg.Connection, table: str, columns: list[str], rows: list[tuple]) -> float:
    start = time.perf_counter()
    for lo in range(0, len(rows), CHUNK):
        await conn.copy_records_to_table(table, records=rows[lo : lo + CHUNK], columns=columns)
    return time.perf_counter() - start


async def floor_postgres(conn: asyncpg.Connection, n: int, shaped: bool = True) -> dict[str, float]:
    """COPY of N log rows and a batched UPDATE of each from PENDING, into a table shaped as the
    log is (`shaped`), or into a bare temporary table with a primary key only (the least any
    design could do)."""
    if shaped:
        table = await shaped_like(conn, "communication_log")
    else:
        table = "floor_log"
        await conn.execute(
            f"CREATE TEMP TABLE {table} (id uuid PRIMARY KEY, campaign_id uuid, customer_id uuid, customer_name text,"
            " email text, phone text, personalized_msg text, status text, city text, spend numeric,"
            " delivered_at timestamptz)"
        )
    campaign = uuid.uuid4()
    ids = [uuid.uuid4() for _ in range(n)]
    copy = await copy_seconds(
        conn,
        table,
        [
            "id",
            "campaign_id",
            "customer_id",
            "customer_name",
            "email",
            "phone",
            "personalized_msg",
            "status",
            "city",
            "spend",
        ],
        [
            (
                i,
                campaign,
                uuid.uuid4(),
                "Bench Customer",
                "x@bench.example",
                "7000000000",
                "Hi Bench Customer, news from Mumbai",
                "PENDING",
                "Mumbai",
                Decimal("12345.00"),
            )
            for i in ids
        ],
    )
    start = time.perf_counter()
    for lo in range(0, n, 1000):
        part = ids[lo : lo + 1000]
        async with planned(conn, BY_KEY):  # as the pipeline's batches are
            await conn.execute(
                f"UPDATE {table} l SET status = u.status, delivered_at = now() FROM unnest($1::uuid[], $2::text[])"
                " AS u(id, status) WHERE l.id = u.id",
                part,
                ["SENT"] * len(part),
            )
    update = time.perf_counter() - start
    await conn.execute(f"DROP TABLE {table}")
    return {"copy_seconds": round(copy, 3), "batched_update_seconds": round(update, 3)}


async def floor_ingest(conn: asyncpg.Connection, n: int) -> dict[str, float]:
    """The database work HTTP ingest of N customers and then N one-item orders cannot avoid, into
    tables shaped as theirs: COPY of the customers; COPY of the orders and of their items, and a
    batched UPDATE moving each order's customer by its effect (spend, visits, last order date)."""
    customers, orders, items = [await shaped_like(conn, t) for t in ("customers", "orders", "order_items")]
    tag = uuid.uuid4().hex[:6]
    ids = [uuid.uuid4() for _ in range(n)]
    now = datetime.now(UTC)
    floor = {
        "customers_copy_seconds": await copy_seconds(
            conn,
            customers,
            ["id", "name", "email", "city"],
            [(cid, f"Http Customer {i}", f"floor.{tag}.{i}@bench.example", "Floor City") for i, cid in enumerate(ids)],
        ),
        "orders_copy_seconds": await copy_seconds(
            conn,
            orders,
            ["id", "customer_id", "order_date", "amount", "status"],
            [(f"floor-{tag}-{i}", cid, now, Decimal(10), "COMPLETED") for i, cid in enumerate(ids)],
        ),
        "order_items_copy_seconds": await copy_seconds(
            conn,
            items,
            ["order_id", "position", "name", "quantity", "unit_price", "total"],
            [(f"floor-{tag}-{i}", 0, "x", 1, Decimal(10), Decimal(10)) for i in range(n)],
        ),
    }
    start = time.perf_counter()
    for lo in range(0, n, 1000):
        async with planned(conn, BY_KEY):  # as the pipeline's batches are
            await conn.execute(
                f"UPDATE {customers} c SET total_spend = c.total_spend + 10, visit = c.visit + 1,"
                " last_order_date = greatest(c.last_order_date, $2), updated_at = now()"
                " FROM unnest($1::uuid[]) AS d(id) WHERE c.id = d.id",
                ids[lo : lo + 1000],
                now,
            )
    floor["customers_update_seconds"] = time.perf_counter() - start
    await conn.execute(f"DROP TABLE {customers}, {orders}, {items}")
    return {key: round(seconds, 3) for key, seconds in floor.items()}


async def floor_kafka(settings: Settings, n: int, per_record: int = 1000) -> dict[str, float]:
    """Produce and consume of the campaign's bytes in the records the pipeline writes: one record
    per `per_record` deliveries (its batch size), not one per message."""
    topic = f"bench-floor-{uuid.uuid4().hex[:8]}"
    delivery = {
        "commId": str(uuid.uuid4()),
        "campaignId": str(uuid.uuid4()),
        "customerId": str(uuid.uuid4()),
        "name": "Bench Customer",
        "email": "x@bench.example",
        "phone": "7000000000",
        "personalized_msg": "Hi Bench Customer, news from Mumbai",
    }
    value = orjson.dumps({"campaign_id": delivery["campaignId"], "deliveries": [delivery] * per_record})
    records = -(-n // per_record)
    admin = AIOKafkaAdminClient(**kafka_clients.client_options(settings))
    await admin.start()
    await admin.create_topics(
        [NewTopic(topic, 4, settings.replication_factor, topic_configs=topics.replica_configs(settings))]
    )
    await admin.close()
    producer = AIOKafkaProducer(
        **kafka_clients.producer_options(
            settings, linger_ms=5, max_batch_size=1024 * 1024, max_request_size=2 * len(value)
        )
    )
    await producer.start()
    start = time.perf_counter()
    futures = [await producer.send(topic, value) for _ in range(records)]
    await asyncio.gather(*futures)
    produce = time.perf_counter() - start
    await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        **kafka_clients.client_options(settings),
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    await consumer.start()
    start = time.perf_counter()
    seen = 0
    while seen < records:
        batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
        seen += sum(len(v) for v in batches.values())
    consume = time.perf_counter() - start
    await consumer.stop()
    admin = AIOKafkaAdminClient(**kafka_clients.client_options(settings))
    await admin.start()
    await admin.delete_topics([topic])
    await admin.close()
    return {"kafka_produce_seconds": round(produce, 3), "kafka_consume_seconds": round(consume, 3)}


async def post_all(
    session: aiohttp.ClientSession, path: str, items: list, secret: str | None = None, clients: int = 4
) -> float:
    """Posts `items` in arrays of 1,000 from `clients` concurrent clients; seconds until all are accepted."""
    queue = [items[i : i + 1000] for i in range(0, len(items), 1000)]

    async def client():
        while queue:
            body = orjson.dumps(queue.pop(0))
            headers = {"Content-Type": "application/json", **(webhooks.sign(secret, body) if secret else {})}
            async with session.post(path, data=body, headers=headers) as r:
                assert r.status < 300, await r.text()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - start


async def stored(conn: asyncpg.Connection, query: str, keys: list[str], since: float) -> float:
    """Seconds from `since` until `query` (keys in, the stored ones out) has found every key. Each
    poll asks about the oldest keys not found yet, a thousand at most: counting the fresh rows
    instead read every one of them from the heap (18 ms a poll at 50,000 rows, a quarter of a
    core at 20 polls a second, taken from the pipeline it measures), and so did a hash of the
    whole table, the planner's choice for a table without statistics (`sql.planning.BY_KEY`)."""
    pending = list(keys)
    while pending:
        async with planned(conn, BY_KEY):  # as the pipeline's batches are
            found = {r[0] for r in await conn.fetch(query, pending[:1000])}
        missing = [k for k in pending[:1000] if k not in found]
        pending = missing + pending[1000:]
        if missing:  # else on at once to the next thousand
            await asyncio.sleep(0.05)
    return time.perf_counter() - since


async def ingest(
    pipeline: Pipeline, conn: asyncpg.Connection, n: int, token: str, credited_to: str | None = None
) -> dict[str, float]:
    """Customers, then one-item orders for them, over HTTP until PostgreSQL holds them (order effects
    on the customers included, as they are written in the orders' transaction); with `credited_to`
    (a campaign), as many orders of its customers, each credited to it; and receipts until the
    broker has them (last: the worker then works through them for minutes)."""
    tag = uuid.uuid4().hex[:6]
    city = f"Ingest-{tag}"
    customers = [
        {"name": f"Http Customer {i}", "email": f"http.{tag}.{i}@bench.example", "city": city} for i in range(n)
    ]
    results = {}
    async with aiohttp.ClientSession(base_url=pipeline.url, headers={"Authorization": f"Bearer {token}"}) as session:
        start, cpu = time.perf_counter(), cpu_seconds(pipeline)
        accepted = await post_all(session, "/api/customers", customers)
        took = await stored(
            conn,
            "SELECT c.email FROM customers c JOIN unnest($1::text[]) AS t(email) ON c.email = t.email",
            [c["email"] for c in customers],
            start,
        )
        results.update(
            ingest_customers_accepted_per_s=round(n / accepted),
            ingest_customers_stored_per_s=round(n / took),
            ingest_customers_cpu_seconds=cpu_used(cpu, cpu_seconds(pipeline)),
        )

        ids = [str(r["id"]) for r in await conn.fetch("SELECT id FROM customers WHERE lower(city) = lower($1)", city)]
        results.update(await timed_orders(pipeline, session, conn, ids, "ingest_orders"))
        if credited_to:
            print(f"  ... and {n:,} orders of the campaign's customers, each credited to it", flush=True)
            results.update(await attributed_orders(pipeline, session, conn, n, credited_to))

        receipts = [{"commId": str(uuid.uuid4()), "campaignId": str(uuid.uuid4()), "status": "SENT"} for _ in range(n)]
        accepted = await post_all(session, "/api/receipts", receipts, pipeline.settings.webhook_secrets[0])
        results["receipts_accepted_per_s"] = round(n / accepted)
    return results


async def timed_orders(
    pipeline: Pipeline, session: aiohttp.ClientSession, conn: asyncpg.Connection, customer_ids: list[str], name: str
) -> dict[str, object]:
    """One one-item order, dated now, per customer over HTTP, timed until PostgreSQL holds them all."""
    tag = uuid.uuid4().hex[:6]
    orders = [
        {
            "id": f"http-{tag}-{i}",
            "customerId": customer,
            "amount": 10,
            "status": "COMPLETED",
            "items": [{"name": "x", "quantity": 1, "unitPrice": 10, "total": 10}],
        }
        for i, customer in enumerate(customer_ids)
    ]
    start, cpu = time.perf_counter(), cpu_seconds(pipeline)
    accepted = await post_all(session, "/api/orders", orders)
    took = await stored(
        conn,
        "SELECT o.id FROM orders o JOIN unnest($1::text[]) AS t(id) ON o.id = t.id",
        [o["id"] for o in orders],
        start,
    )
    n = len(orders)
    return {
        f"{name}_accepted_per_s": round(n / accepted),
        f"{name}_stored_per_s": round(n / took),
        f"{name}_cpu_seconds": cpu_used(cpu, cpu_seconds(pipeline)),
    }


async def attributed_orders(
    pipeline: Pipeline, session: aiohttp.ClientSession, conn: asyncpg.Connection, n: int, campaign_id: str
) -> dict:
    """Orders from n of the campaign's customers, each inside its attribution window: every one
    credited to the campaign in its own transaction (against the ingest phase's orders, whose
    customers had no message: the same look-up, nothing to credit)."""
    customers = [
        str(r["customer_id"])
        for r in await conn.fetch(
            "SELECT customer_id FROM communication_log WHERE campaign_id = $1 ORDER BY id LIMIT $2",
            uuid.UUID(campaign_id),
            n,
        )
    ]
    results = await timed_orders(pipeline, session, conn, customers, "attributed_orders")
    row = await conn.fetchrow("SELECT conversions, sent_count FROM campaigns WHERE id = $1", uuid.UUID(campaign_id))
    results["attributed_conversions"] = row["conversions"]
    return results


async def run_campaign(pipeline: Pipeline, conn: asyncpg.Connection, n: int, token: str) -> dict:
    workers = [psutil.Process(p.popen.pid) for p in pipeline.processes if p.role == "worker"]
    peak = [max(w.memory_info().rss for w in workers)]
    baseline = peak[0]
    segment = {"combinator": "AND", "rules": [{"attribute": "city", "operator": "!=", "value": "HttpCity"}]}
    cpu_before = cpu_seconds(pipeline)
    async with aiohttp.ClientSession(base_url=pipeline.url, headers={"Authorization": f"Bearer {token}"}) as session:
        start = time.perf_counter()
        async with session.post(
            "/api/campaigns",
            json={
                "name": f"Benchmark {n:,}",
                "ruleGroup": segment,
                "message": "Hi {{name}}, news from {{city}}",
            },
        ) as r:
            assert r.status == 201, await r.text()
            campaign_id = uuid.UUID((await r.json())["campaignId"])
    last_print = 0.0
    progress = []  # (seconds, sent, failed, pending)
    while True:
        row = await conn.fetchrow(
            "SELECT status, audience_size, sent_count, failed_count, pending_count, summary IS NOT NULL AS done"
            " FROM campaigns WHERE id = $1",
            campaign_id,
        )
        peak.append(max(w.memory_info().rss for w in workers))
        elapsed = time.perf_counter() - start
        if row:
            progress.append((elapsed, row["sent_count"], row["failed_count"], row["pending_count"]))
        if row and elapsed - last_print > 1:
            last_print = elapsed
            print(
                f"  {elapsed:6.1f} s  {row['status']:<9} {row['sent_count'] + row['failed_count']:>9,}"
                f" / {row['audience_size'] or 0:,}",
                flush=True,
            )
        if row and row["done"]:
            break
        await asyncio.sleep(0.05)
    total = time.perf_counter() - start
    cpu = cpu_used(cpu_before, cpu_seconds(pipeline))
    assert row["sent_count"] + row["failed_count"] == row["audience_size"] == n, dict(row)
    return {
        "campaign_seconds": round(total, 3),
        "progress": progress,
        "deliveries_per_second": round(n / total),
        "sent": row["sent_count"],
        "failed": row["failed_count"],
        "worker_rss_baseline_mb": round(baseline / 2**20, 1),
        "worker_rss_samples": len(peak),
        "worker_rss_peak_mb": round(max(peak) / 2**20, 1),
        "campaign_cpu_seconds": cpu,
        "campaign_id": str(campaign_id),
    }


def plot(progress: list[tuple[float, int, int, int]], n: int, path: Path) -> None:
    """The campaign's progress over time: sent, failed and pending messages."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seconds, sent, failed, pending = zip(*progress, strict=True)
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    ax.plot(seconds, sent, label="sent")
    ax.plot(seconds, failed, label="failed")
    ax.plot(seconds, pending, label="pending")
    ax.set(
        xlabel="seconds since POST /api/campaigns",
        ylabel="messages",
        title=f"A campaign of {n:,} customers, request to summary",
    )
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def ingest_ratios(ingested: dict[str, float], floor: dict[str, float], n: int) -> dict[str, float]:
    """Each kind's floor in rows per second and the ratio of its floor to what was stored."""
    customers = n / floor["customers_copy_seconds"]
    orders = n / (floor["orders_copy_seconds"] + floor["order_items_copy_seconds"] + floor["customers_update_seconds"])
    ratios = {
        "ingest_customers_floor_per_s": round(customers),
        "ingest_customers_ratio_to_floor": round(customers / ingested["ingest_customers_stored_per_s"], 2),
        "ingest_orders_floor_per_s": round(orders),
        "ingest_orders_ratio_to_floor": round(orders / ingested["ingest_orders_stored_per_s"], 2),
    }
    if "attributed_orders_stored_per_s" in ingested:
        ratios["attributed_orders_ratio_to_floor"] = round(orders / ingested["attributed_orders_stored_per_s"], 2)
    return ratios


async def main(n: int, workers: int, http_n: int, attribution: bool) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="minicrm-bench-"))
    pipeline = Pipeline(workdir, MINICRM_SIMULATOR_FAILURE_RATE="0.1")
    await pipeline.create()
    try:
        conn = await asyncpg.connect(pipeline.settings.database_url)
        print(f"Seeding {n:,} customers with COPY ...", flush=True)
        seed_seconds = await seed(conn, n, uuid.uuid4().hex[:6])
        web, vendor = pipeline.start("web"), pipeline.start("vendor")
        started = [pipeline.start("worker") for _ in range(workers)] + [pipeline.start("live")]
        await pipeline.wait_http(f"{pipeline.url}/readyz", web)
        await pipeline.wait_http(f"{pipeline.vendor_url}/vendor/stats", vendor)
        for w in started:
            await pipeline.wait_worker(w)
        await asyncio.sleep(2 if workers > 1 else 0)
        print(f"Campaign of {n:,} customers: POST /api/campaigns to summary stored", flush=True)
        _, token = await pipeline.new_user("bench@minicrm.local")
        campaign = await run_campaign(pipeline, conn, n, token)
        # Each floor is measured right after what it is the floor of: this machine's speed
        # wanders within minutes, and a ratio should compare like with like.
        print("Measuring the campaign's floor on the same machine ...", flush=True)
        kafka = await floor_kafka(pipeline.settings, n)
        floor = {**await floor_postgres(conn, n), **kafka}
        bare = {**await floor_postgres(conn, n, shaped=False), **kafka}
        print(
            f"Measuring HTTP ingest until stored ({http_n:,} customers, then {http_n:,} orders), then its floor ...",
            flush=True,
        )
        ingested = await ingest(pipeline, conn, http_n, token, campaign["campaign_id"] if attribution else None)
        ingest_floor = await floor_ingest(conn, http_n)
        db_floor = sum(floor.values())
        await conn.close()
    finally:
        pipeline.stop()
        await pipeline.drop()
    progress = campaign.pop("progress")
    result = {
        "customers": n,
        "workers": workers,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "seed_copy_seconds": round(seed_seconds, 3),
        **campaign,
        **ingested,
        "floor": floor,
        "db_floor_seconds": round(db_floor, 3),
        "ratio_to_db_floor": round(campaign["campaign_seconds"] / db_floor, 2),
        "floor_bare": bare,
        "bare_floor_seconds": round(sum(bare.values()), 3),
        "ratio_to_bare_floor": round(campaign["campaign_seconds"] / sum(bare.values()), 2),
        "ingest_floor": ingest_floor,
        **ingest_ratios(ingested, ingest_floor, http_n),
    }
    path = save_result("campaign", n, result)
    plot(progress, n, path.with_suffix(".png"))
    print(json.dumps(result, indent=2))
    print(
        f"\nCampaign, request to summary: {campaign['campaign_seconds']:.2f} s for {n:,} customers "
        f"({campaign['deliveries_per_second']:,}/s); database floor (COPY + batched UPDATE of N log rows "
        f"into a table shaped as the log, Kafka produce + consume of the same bytes in 1,000-message records): "
        f"{db_floor:.2f} s; ratio {result['ratio_to_db_floor']} (to a bare table: {result['ratio_to_bare_floor']}). "
        f"Ingest stored: {ingested['ingest_customers_stored_per_s']:,} customers/s (floor "
        f"{result['ingest_customers_floor_per_s']:,}/s, ratio {result['ingest_customers_ratio_to_floor']}), "
        f"{ingested['ingest_orders_stored_per_s']:,} orders/s (floor {result['ingest_orders_floor_per_s']:,}/s, "
        f"ratio {result['ingest_orders_ratio_to_floor']}). Written to {path.relative_to(ROOT)} (and .png)"
    )
    if attribution:
        print(
            f"Orders credited to the campaign: {ingested['attributed_orders_stored_per_s']:,}/s stored (ratio "
            f"{result['attributed_orders_ratio_to_floor']}), {ingested['attributed_conversions']:,} conversions; "
            f"orders with nothing to credit {ingested['ingest_orders_stored_per_s']:,}/s."
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--http-records", type=int, default=50_000, help="customers and orders for the ingest figures")
    parser.add_argument(
        "--attribution", action="store_true", help="also time as many orders of the campaign's customers (credited)"
    )
    args = parser.parse_args()
    asyncio.run(main(args.customers, args.workers, args.http_records, args.attribution))
