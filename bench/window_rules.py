"""Benchmark: segments with window rules (orders_within, spend_within) over a million customers.

Seeds a database of its own once (`minicrm_window_rules`, kept between runs; `--seed` seeds it
again): the migrations, then N customers and M orders over the last 400 days (3 in 5 COMPLETED),
generated on the server. Then it counts each segment as a preview does (`SELECT count(*) FROM
customers c WHERE <rule>`), twice, and prints the second run's time and its EXPLAIN ANALYZE.

    .venv/bin/python bench/window_rules.py [--customers 1000000] [--orders 3000000] [--seed]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import asyncpg

from harness import ADMIN_DSN
from minicrm import rules
from minicrm.db import migrate

DATABASE = "minicrm_window_rules"
DSN = f"postgresql://minicrm@127.0.0.1:5433/{DATABASE}"
CUSTOMERS = """
INSERT INTO customers (id, name, email, city, total_spend, visit, last_order_date)
SELECT md5('c' || i)::uuid, 'Customer ' || i, 'c' || i || '@bench.example',
       (ARRAY['Mumbai', 'Delhi', 'Pune', 'Chennai', 'Kolkata', 'Jaipur'])[1 + i % 6],
       (hashint4(i) & 65535)::numeric, abs(hashint4(i + 1)) % 21,
       now() - (abs(hashint4(i + 2)) % 400) * interval '1 day'
FROM generate_series($1::int, $2::int - 1) i
"""
ORDERS = """
INSERT INTO orders (id, customer_id, order_date, amount, status)
SELECT 'o' || o, md5('c' || (abs(hashint4(o)) % $3::int))::uuid,
       now() - (abs(hashint4(o + 3)) % (400 * 86400)) * interval '1 second',
       (abs(hashint4(o + 7)) % 50000)::numeric / 100,
       (ARRAY['COMPLETED', 'COMPLETED', 'COMPLETED', 'REFUNDED', 'PENDING'])[1 + abs(hashint4(o + 9)) % 5]
FROM generate_series($1::int, $2::int - 1) o
"""


def rule(attribute: str, operator: str, value: str, days: int | None = None) -> dict:
    return {"attribute": attribute, "operator": operator, "value": value} | ({"days": days} if days else {})


SEGMENTS = {
    "orders_within 30 >= 3": [rule("orders_within", ">=", "3", 30)],
    "spend_within 7 > 500": [rule("spend_within", ">", "500", 7)],
    "city = Pune and orders_within 90 >= 2": [rule("city", "=", "Pune"), rule("orders_within", ">=", "2", 90)],
    "visit >= 20 and spend_within 365 > 1000": [rule("visit", ">=", "20"), rule("spend_within", ">", "1000", 365)],
}


async def seed(customers: int, orders: int) -> None:
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DATABASE}" OWNER minicrm')
    finally:
        await admin.close()
    await migrate(DSN)
    conn = await asyncpg.connect(DSN)
    try:
        for lo in range(0, customers, 250_000):
            await conn.execute(CUSTOMERS, lo, min(customers, lo + 250_000))
        for lo in range(0, orders, 500_000):
            await conn.execute(ORDERS, lo, min(orders, lo + 500_000), customers)
        await conn.execute("VACUUM ANALYZE customers")
        await conn.execute("VACUUM ANALYZE orders")
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=3_000_000)
    parser.add_argument("--seed", action="store_true")
    args = parser.parse_args()
    admin = await asyncpg.connect(ADMIN_DSN)
    exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
    await admin.close()
    if args.seed or not exists:
        started = time.perf_counter()
        await seed(args.customers, args.orders)
        print(
            f"seeded {args.customers:,} customers and {args.orders:,} orders in {time.perf_counter() - started:.0f} s"
        )
    conn = await asyncpg.connect(DSN, server_settings={"timezone": "UTC", "jit": "off"})
    try:
        for name, segment in SEGMENTS.items():
            condition, params = rules.compile_tree({"combinator": "AND", "rules": segment})
            query = f"SELECT count(*) FROM customers c WHERE {condition}"
            for _ in range(2):
                started = time.perf_counter()
                count = await conn.fetchval(query, *params)
                took = time.perf_counter() - started
            print(f"== {name}: {count:,} customers in {took * 1000:,.0f} ms")
            print("\n".join(r[0] for r in await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {query}", *params)))
    finally:
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
