"""Benchmark: the edge's reads at scale (10 million customers, 100 million log rows by default).

Seeds a database of its own once (`minicrm_reads`, kept between runs; seeded again when the
sizes asked for differ): the project's migrations, then customers, users, campaigns with
their messages, and orders, generated on the server (INSERT ... SELECT generate_series: the
same rows a client COPY would send, without shipping tens of gigabytes through Python), with
the tables' indexes and keys dropped during the load and built again after it, as one restores
a dump. Then it starts a web process on that database and times each read over HTTP, one
request at a time (p50/p95/max over `--repeat` requests with varying arguments): a segment
preview (a selective rule, and one that must scan the table), a page of a campaign's logs by
status (first page, a deep `offset`, and the same depth by `cursor`), a customer's orders,
the signed-in user's campaign list. Prints the table and writes it to bench/results/.

    bin/bench --reads [--customers 10000000] [--logs 100000000] [--repeat 50]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import statistics
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson

from harness import ADMIN_DSN, ROOT, Pipeline, save_result
from minicrm import sessions
from minicrm.db import migrate

DATABASE = "minicrm_reads"
DSN = f"postgresql://minicrm@127.0.0.1:5433/{DATABASE}"
TABLES = ("customers", "orders", "order_items", "communication_log")
USERS = 10
PER_CAMPAIGN = 1_000_000
CITIES = "ARRAY['Mumbai', 'Delhi', 'Pune', 'Chennai', 'Kolkata', 'Jaipur']"

# Deterministic rows: customer i has id md5('c' || i); campaign k has id md5('k' || k) and
# belongs to user k % USERS; its j-th message goes to customer (7j + 100003k) mod N (distinct
# for j < N), with the id the pipeline gives it (md5 of campaign and customer), 85% SENT,
# 10% FAILED, 5% SKIPPED.
SEED_CUSTOMERS = f"""
INSERT INTO customers (id, name, email, phone, city, total_spend, visit, last_order_date, created_at, updated_at)
SELECT md5('c' || i)::uuid, 'Reads Customer ' || i, 'c' || i || '@reads.example', (7000000000 + i)::text,
       ({CITIES})[1 + i % 6], (hashint4(i) & 65535)::numeric, abs(hashint4(i + 1)) % 21,
       timestamptz '2025-01-01' + (abs(hashint4(i + 2)) % 700) * interval '1 day',
       timestamptz '2024-01-01' + i * interval '1 second', timestamptz '2024-01-01' + i * interval '1 second'
FROM generate_series($1::int, $2::int - 1) i
"""
SEED_USERS = """
INSERT INTO users (id, email, name) SELECT md5('u' || u)::uuid, 'reads' || u || '@reads.example', 'Reads User ' || u
FROM generate_series(0, $1::int - 1) u
"""
SEED_CAMPAIGNS = f"""
INSERT INTO campaigns (id, user_id, name, segment, message, audience_size, status, sent_count, failed_count,
                       suppressed_count, created_at, started_at, completed_at, segmented_at)
SELECT md5('k' || k)::uuid, md5('u' || (k % {USERS}))::uuid::text, 'Reads campaign ' || k,
       '{{"combinator": "AND", "rules": []}}', 'Hi {{{{name}}}}', $2::int * 95 / 100, 'COMPLETED',
       $2::int * 85 / 100, $2::int * 10 / 100, $2::int * 5 / 100, t, t, t + interval '1 hour', t
FROM generate_series(0, $1::int - 1) k, LATERAL (SELECT timestamptz '2026-01-01' + k * interval '1 day' AS t) s
"""
SEED_LOGS = """
INSERT INTO communication_log (id, campaign_id, customer_id, customer_name, email, phone, personalized_msg,
                               status, reason, delivered_at, created_at)
SELECT md5(md5('k' || k)::uuid::text || ':' || md5('c' || ci)::uuid::text)::uuid, md5('k' || k)::uuid,
       md5('c' || ci)::uuid, 'Reads Customer ' || ci, 'c' || ci || '@reads.example', (7000000000 + ci)::text,
       'Hi Reads Customer ' || ci, st, CASE WHEN st = 'SKIPPED' THEN 'opted out' END,
       CASE WHEN st <> 'SKIPPED' THEN created + interval '5 seconds' END, created
FROM generate_series($1::int, $2::int - 1) k, generate_series(0, $3::int - 1) j,
     LATERAL (SELECT ((7::bigint * j + 100003::bigint * k) % $4::int)::int AS ci,
                     CASE WHEN j % 100 < 85 THEN 'SENT' WHEN j % 100 < 95 THEN 'FAILED' ELSE 'SKIPPED' END AS st,
                     timestamptz '2026-01-01' + k * interval '1 day' + (j / 20000) * interval '300 ms' AS created) r
"""
SEED_ORDERS = """
INSERT INTO orders (id, customer_id, order_date, amount, status, created_at, updated_at)
SELECT 'o' || o, md5('c' || (abs(hashint4(o)) % $3::int))::uuid, timestamptz '2025-01-01' + o * interval '3 seconds',
       (abs(hashint4(o + 7)) % 500)::numeric, 'COMPLETED', now(), now()
FROM generate_series($1::int, $2::int - 1) o
"""
SEED_ITEMS = """
INSERT INTO order_items (order_id, position, name, quantity, unit_price, total)
SELECT 'o' || o, 1, 'item', 1, (abs(hashint4(o + 7)) % 500)::numeric, (abs(hashint4(o + 7)) % 500)::numeric
FROM generate_series($1::int, $2::int - 1) o
"""


async def in_parallel(statement: str, total: int, *extra: Any, parts: int = 2, step: int = 1) -> None:
    """Runs `statement` over [0, total) split in `parts` ranges (multiples of `step`) on as many connections."""
    size = -(-total // parts // step) * step

    async def part(lo: int) -> None:
        conn = await asyncpg.connect(DSN)
        try:
            await conn.execute(statement, lo, min(total, lo + size), *extra)
        finally:
            await conn.close()

    await asyncio.gather(*(part(lo) for lo in range(0, total, size)))


async def seeded_sizes(conn: asyncpg.Connection) -> dict | None:
    if not await conn.fetchval("SELECT to_regclass('bench_seed') IS NOT NULL"):
        return None
    return dict(await conn.fetchrow("SELECT customers, logs FROM bench_seed"))


async def seed(customers: int, logs: int) -> None:
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DATABASE}" OWNER minicrm')
    finally:
        await admin.close()
    await migrate(DSN)
    conn = await asyncpg.connect(DSN)
    try:
        # Keys and indexes of the big tables are built after the load, as a restore does.
        constraints = await conn.fetch(
            "SELECT conrelid::regclass::text AS tab, conname, pg_get_constraintdef(oid) AS def, contype"
            " FROM pg_constraint WHERE conrelid::regclass::text = ANY($1) AND contype IN ('p', 'u', 'f')"
            " ORDER BY contype = 'f' DESC",
            list(TABLES),
        )
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY($1) AND schemaname = 'public'"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            list(TABLES),
        )
        for c in constraints:
            await conn.execute(f'ALTER TABLE {c["tab"]} DROP CONSTRAINT "{c["conname"]}"')
        for i in indexes:
            await conn.execute(f'DROP INDEX "{i["indexname"]}"')
        per_campaign = min(logs, customers, PER_CAMPAIGN)  # a campaign messages a customer once
        campaigns = -(-logs // per_campaign)
        steps = [
            (f"{customers:,} customers", lambda: in_parallel(SEED_CUSTOMERS, customers)),
            ("users and campaigns", lambda: seed_campaigns(conn, campaigns, per_campaign)),
            (f"{logs:,} log rows", lambda: in_parallel(SEED_LOGS, campaigns, per_campaign, customers)),
            (f"{customers:,} orders", lambda: in_parallel(SEED_ORDERS, customers, customers)),
            (f"{customers:,} order items", lambda: in_parallel(SEED_ITEMS, customers)),
        ]
        await conn.execute("SET maintenance_work_mem = '1GB'")
        await conn.execute("SET max_parallel_maintenance_workers = 2")
        for what, step in steps:
            await timed(f"seeding {what}", step())
        for i in indexes:
            await timed(f"building {i['indexname']}", conn.execute(i["indexdef"]))
        for c in reversed(constraints):
            await timed(
                f"building {c['conname']}",
                conn.execute(f'ALTER TABLE {c["tab"]} ADD CONSTRAINT "{c["conname"]}" {c["def"]}'),
            )
        await timed(
            "vacuum analyze",
            conn.execute("VACUUM (ANALYZE) customers, orders, order_items, communication_log, campaigns, users"),
        )
        await conn.execute(
            "CREATE TABLE bench_seed AS SELECT $1::bigint AS customers, $2::bigint AS logs, now() AS seeded_at",
            customers,
            logs,
        )
    finally:
        await conn.close()


async def seed_campaigns(conn: asyncpg.Connection, campaigns: int, per_campaign: int) -> None:
    await conn.execute(SEED_USERS, USERS)
    await conn.execute(SEED_CAMPAIGNS, campaigns, per_campaign)


async def timed(what: str, work) -> None:
    print(f"  {what} ...", end="", flush=True)
    start = time.perf_counter()
    await work
    print(f" {time.perf_counter() - start:.1f} s", flush=True)


async def measure(session: aiohttp.ClientSession, name: str, requests: list[tuple[str, str, dict]]) -> dict:
    """Times each request (method, path, body or params); every answer must be a 2xx."""
    took, headers, flags = [], {}, Counter()
    for method, path, args in requests:
        start = time.perf_counter()
        kwargs = {"json": args} if method == "POST" else {"params": args}
        async with session.request(method, path, **kwargs) as r:
            body = await r.read()
            assert r.status < 300, (name, r.status, body[:500])
            headers = dict(r.headers)
        took.append((time.perf_counter() - start) * 1000)
        if path == "/api/campaigns/get" and "ruleGroup" in args:  # a preview says how it counted
            answer = orjson.loads(body)
            flags.update(flag for flag in ("full_scan", "audience_estimated") if answer[flag])
    took.sort()
    row = {
        "read": name,
        "p50_ms": round(statistics.median(took), 1),
        "p95_ms": round(took[int(0.95 * (len(took) - 1))], 1),
        "max_ms": round(took[-1], 1),
        "n": len(took),
    }
    row["note"] = ", ".join(f"{flag} {n}/{len(took)}" for flag, n in sorted(flags.items()))
    if "X-Total-Count" in headers:
        row["x_total_count"] = headers["X-Total-Count"] + (
            " (estimate)" if headers.get("X-Total-Count-Estimated") else ""
        )
    print(f"  {name:<52} p50 {row['p50_ms']:>8.1f} ms  p95 {row['p95_ms']:>8.1f} ms", flush=True)
    return row


async def cursor_at(session: aiohttp.ClientSession, params: dict, depth: int, limit: int) -> str:
    """The cursor of the page at `depth` rows, followed page by page (not timed)."""
    cursor = None
    for _ in range(depth // limit):
        async with session.get(
            "/api/logs", params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        ) as r:
            cursor = r.headers["X-Next-Cursor"]
    return cursor


async def reads(pipeline: Pipeline, customers: int, campaigns: int, repeat: int) -> list[dict]:
    rng = random.Random(7)
    user = 3
    token = sessions.issue(user_uuid(user), pipeline.env["MINICRM_SESSION_SECRET"], 3600)
    own = [k for k in range(campaigns) if k % USERS == user]
    campaign_ids = {k: campaign_uuid(k) for k in own}
    pick = lambda: campaign_ids[rng.choice(own)]  # noqa: E731
    async with aiohttp.ClientSession(base_url=pipeline.url, headers={"Authorization": f"Bearer {token}"}) as s:

        def selective() -> dict:
            city = {"attribute": "city", "operator": "=", "value": rng.choice(["Pune", "Delhi", "Mumbai"])}
            spend = {"attribute": "total_spend", "operator": ">", "value": rng.randint(64_000, 65_000)}
            return {"ruleGroup": {"combinator": "AND", "rules": [city, spend]}}

        def broad() -> dict:
            visits = {"attribute": "visit", "operator": ">", "value": rng.randint(15, 19)}
            city = {"attribute": "city", "operator": "=", "value": "Pune"}
            return {"ruleGroup": {"combinator": "OR", "rules": [visits, city]}}

        rows = [
            await measure(
                s,
                "preview, selective rule (count + sample)",
                [("POST", "/api/campaigns/get", selective()) for _ in range(repeat)],
            )
        ]
        rows.append(
            await measure(
                s,
                "preview, rule that scans the table",
                [("POST", "/api/campaigns/get", broad()) for _ in range(max(5, repeat // 5))],
            )
        )
        for status in ("FAILED", "SKIPPED"):
            rows.append(
                await measure(
                    s,
                    f"logs of a campaign, status {status}, first page of 100",
                    [
                        ("GET", "/api/logs", {"campaignId": pick(), "status": status, "limit": 100})
                        for _ in range(repeat)
                    ],
                )
            )
        rows.append(
            await measure(
                s,
                "logs of a campaign, all statuses, first page of 100",
                [("GET", "/api/logs", {"campaignId": pick(), "limit": 100}) for _ in range(repeat)],
            )
        )
        depth = 50_000
        rows.append(
            await measure(
                s,
                f"logs of a campaign, SENT, offset {depth:,}",
                [
                    ("GET", "/api/logs", {"campaignId": pick(), "status": "SENT", "limit": 100, "offset": depth})
                    for _ in range(max(5, repeat // 5))
                ],
            )
        )
        params = {"campaignId": campaign_ids[own[0]], "status": "SENT"}
        cursor = await cursor_at(s, params, depth, 1000)
        rows.append(
            await measure(
                s,
                f"logs of a campaign, SENT, cursor at {depth:,}",
                [("GET", "/api/logs", {**params, "limit": 100, "cursor": cursor}) for _ in range(repeat)],
            )
        )
        rows.append(
            await measure(
                s,
                "orders of a customer",
                [("GET", "/api/orders", {"customerId": customer_id(rng.randrange(customers))}) for _ in range(repeat)],
            )
        )
        rows.append(
            await measure(
                s,
                "logs of a customer",
                [
                    ("GET", "/api/logs", {"customerId": customer_id(rng.randrange(customers)), "limit": 100})
                    for _ in range(repeat)
                ],
            )
        )
        rows.append(
            await measure(s, "the user's campaign list", [("POST", "/api/campaigns/get", {}) for _ in range(repeat)])
        )
        rows.append(
            await measure(
                s, "all orders, first page of 100", [("GET", "/api/orders", {"limit": 100}) for _ in range(repeat)]
            )
        )
    return rows


def md5_uuid(text: str) -> str:
    """The uuid PostgreSQL's md5(text)::uuid gives."""
    return str(uuid.UUID(hashlib.md5(text.encode()).hexdigest()))


def customer_id(i: int) -> str:
    return md5_uuid(f"c{i}")


def user_uuid(u: int) -> str:
    return md5_uuid(f"u{u}")


def campaign_uuid(k: int) -> str:
    return md5_uuid(f"k{k}")


async def main(customers: int, logs: int, repeat: int) -> None:
    admin = await asyncpg.connect(ADMIN_DSN)
    exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
    await admin.close()
    sizes = None
    if exists:
        conn = await asyncpg.connect(DSN)
        sizes = await seeded_sizes(conn)
        await conn.close()
    if sizes != {"customers": customers, "logs": logs}:
        print(
            f"Seeding {DATABASE}: {customers:,} customers, {logs:,} log rows (once, kept for later runs; at the"
            " default sizes 46 GB and about half an hour on 2 cores)",
            flush=True,
        )
        start = time.perf_counter()
        await seed(customers, logs)
        print(f"Seeded in {time.perf_counter() - start:.0f} s", flush=True)
    else:
        print(f"Using {DATABASE} as seeded ({customers:,} customers, {logs:,} log rows)", flush=True)
    start = time.perf_counter()
    applied = await migrate(DSN)  # migrations newer than the seed run on the big tables here
    if applied:
        print(f"Applied {', '.join(applied)} to the seeded database in {time.perf_counter() - start:.0f} s", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="minicrm-reads-"))
    pipeline = Pipeline(workdir, MINICRM_DATABASE_URL=DSN)
    web = pipeline.start("web")
    try:
        await pipeline.wait_http(f"{pipeline.url}/readyz", web)
        print("Reads over HTTP, one at a time:", flush=True)
        rows = await reads(pipeline, customers, -(-logs // min(logs, customers, PER_CAMPAIGN)), repeat)
    finally:
        pipeline.stop()
    result = {"customers": customers, "log_rows": logs, "orders": customers, "reads": rows}
    path = save_result("reads", customers, result)
    print("\n| read | p50 ms | p95 ms | max ms | |\n| --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['read']} | {r['p50_ms']} | {r['p95_ms']} | {r['max_ms']} | {r['note']} |")
    print(f"\nWritten to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=10_000_000)
    parser.add_argument("--logs", type=int, default=100_000_000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.customers, args.logs, args.repeat))
