"""Customers and orders over HTTP, through Kafka and the ingest agents, into PostgreSQL."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from minicrm.order_effects import effect
from support.deployment import eventually

pytestmark = pytest.mark.integration


def make_customers(tag: str, n: int) -> list[dict]:
    return [
        {
            "name": f"Customer {tag} {i}",
            "email": f"{tag}.{i}@Example.com",
            "phone": f"{random.randrange(10**9, 10**10)}",
            "city": random.choice(["Pune", "Delhi", "Goa"]),
            "visit": i % 3,
        }
        for i in range(n)
    ]


def make_order(order_id: str, customer_id: str, status: str, when: datetime) -> dict:
    quantity, price = random.randint(1, 4), Decimal(random.randint(100, 99999)) / 100
    total = quantity * price
    return {
        "id": order_id,
        "customerId": customer_id,
        "amount": float(total),
        "status": status,
        "order_date": when.isoformat(),
        "items": [{"name": "item", "quantity": quantity, "unitPrice": float(price), "total": float(total)}],
    }


async def post(http, path, body, status=202):
    async with http.post(path, json=body) as r:
        assert r.status == status, await r.text()
        return await r.json()


async def test_customers_and_orders_land_exactly(pipeline, http):
    tag = uuid.uuid4().hex[:8]
    customers = make_customers(tag, 1000)
    ids = []
    for start in range(0, 900, 300):  # in arrays
        ids += (await post(http, "/api/customers", customers[start : start + 300]))["ids"]
    for c in customers[900:]:  # and one by one
        ids += (await post(http, "/api/customers", c))["ids"]
    assert len(set(ids)) == 1000

    now = datetime.now(UTC).replace(microsecond=0)
    statuses = ["PENDING", "COMPLETED", "CANCELLED", "REFUNDED"]
    orders = [
        make_order(
            f"{tag}-{i}", random.choice(ids), random.choice(statuses), now - timedelta(days=random.randint(0, 400))
        )
        for i in range(3000)
    ]
    for start in range(0, 2900, 500):
        await post(http, "/api/orders", orders[start : start + 500])
    for o in orders[2900:]:
        await post(http, "/api/orders", o)
    # The same records delivered twice change nothing.
    await post(http, "/api/orders", orders[:1000])
    # Re-posting an order with a new status moves the customer by the difference.
    changed = [dict(o, status="REFUNDED") for o in orders[:200] if o["status"] == "COMPLETED"]
    await post(http, "/api/orders", changed)
    final = {o["id"]: o for o in orders} | {o["id"]: o for o in changed}

    expected = {cid: [Decimal(0), 0, None] for cid in ids}
    for i, c in zip(ids, customers, strict=True):
        expected[i][1] = c["visit"]
    for o in final.values():
        spend, visits = effect(o["status"], Decimal(str(o["amount"])))
        e = expected[o["customerId"]]
        e[0] += spend
        e[1] += visits
    for o in orders + changed:  # the last order date moves with every COMPLETED record seen
        when = datetime.fromisoformat(o["order_date"])
        e = expected[o["customerId"]]
        if o["status"] == "COMPLETED" and (e[2] is None or when > e[2]):
            e[2] = when

    conn = await pipeline.db()
    try:

        async def landed():
            n = await conn.fetchval("SELECT count(*) FROM orders WHERE id LIKE $1", f"{tag}-%")
            m = await conn.fetchval(
                "SELECT count(*) FROM orders WHERE id = ANY($1::text[]) AND status = 'REFUNDED'",
                [o["id"] for o in changed],
            )
            return n == 3000 and m == len(changed)

        await eventually(landed, timeout=120)
        rows = await conn.fetch(
            "SELECT id::text, email, total_spend, visit, last_order_date FROM customers WHERE email LIKE $1", f"{tag}.%"
        )
        assert len(rows) == 1000
        assert all(r["email"] == r["email"].lower() for r in rows)
        for r in rows:
            spend, visits, last = expected[r["id"]]
            assert (r["total_spend"], r["visit"], r["last_order_date"]) == (spend, visits, last), r["email"]
        items = await conn.fetchval("SELECT count(*) FROM order_items WHERE order_id LIKE $1", f"{tag}-%")
        assert items == 3000
        assert await conn.fetchval("SELECT count(*) FROM dead_letters WHERE key LIKE $1", f"{tag}%") == 0
    finally:
        await conn.close()

    async with http.get("/api/orders", params={"customerId": ids[0], "limit": "5"}) as r:
        assert r.status == 200
        assert int(r.headers["X-Total-Count"]) == sum(o["customerId"] == ids[0] for o in final.values())
        assert all(o["customerId"] == ids[0] for o in await r.json())


async def test_customer_upsert_by_email_and_search(pipeline, http):
    tag = uuid.uuid4().hex[:8]
    email = f"{tag}@example.com"
    [cid] = (
        await post(
            http,
            "/api/customers",
            {"name": "First Name", "email": email, "city": "Pune", "total_spend": 99999, "id": "chosen-by-client"},
        )
    )["ids"]
    await post(http, "/api/customers", {"name": "Second Name", "email": email.upper(), "visit": 7})
    rule = {
        "combinator": "AND",
        "rules": [
            {"attribute": "visit", "operator": "=", "value": "7"},
            {"attribute": "city", "operator": "=", "value": "pune"},
        ],
    }

    async def found():
        async with http.post("/api/customers/get", json=rule) as r:
            rows = [c for c in await r.json() if c["email"] == email]
            return rows if rows and rows[0]["name"] == "Second Name" else None

    [row] = await eventually(found)
    assert row["id"] == cid and row["city"] == "Pune" and row["visit"] == 7
    assert row["total_spend"] == 0  # spend comes from orders only, never from the client
    assert set(row) >= {"id", "name", "email", "phone", "city", "total_spend", "visit", "last_order_date", "createdAt"}


async def test_worker_killed_mid_ingest_counts_every_order_once(pipeline, http):
    """Records a killed worker took but had not committed are read again by its replacement:
    every order is stored and moves its customer exactly once (several records a write)."""
    import signal

    tag = uuid.uuid4().hex[:8]
    ids = (
        await post(
            http, "/api/customers", [{"name": f"Kill {i}", "email": f"{tag}.{i}@example.com"} for i in range(1000)]
        )
    )["ids"]
    now = datetime.now(UTC).replace(microsecond=0)
    orders = [make_order(f"{tag}-{i}", ids[i % 1000], "COMPLETED", now) for i in range(20_000)]
    conn = await pipeline.db()
    try:

        async def count() -> int:
            return await conn.fetchval("SELECT count(*) FROM orders WHERE id LIKE $1", f"{tag}-%")

        for start in range(0, 10_000, 1000):
            await post(http, "/api/orders", orders[start : start + 1000])
        await eventually(lambda: count_between(count, 1, 9_999), interval=0.02)
        [worker] = [p for p in pipeline.processes if p.role == "worker"]
        worker.kill(signal.SIGKILL)
        pipeline.processes.remove(worker)
        replacement = pipeline.start("worker")
        for start in range(10_000, 20_000, 1000):
            await post(http, "/api/orders", orders[start : start + 1000])
        await pipeline.wait_worker(replacement)

        async def all_stored():
            return await count() == 20_000

        await eventually(all_stored, timeout=120)
        expected: dict[str, Decimal] = {}
        for o in orders:
            expected[o["customerId"]] = expected.get(o["customerId"], Decimal(0)) + Decimal(str(o["amount"]))
        rows = await conn.fetch("SELECT id::text, total_spend, visit FROM customers WHERE email LIKE $1", f"{tag}.%")
        assert {r["id"]: (r["total_spend"], r["visit"]) for r in rows} == {
            cid: (spend, 20) for cid, spend in expected.items()
        }
        assert await conn.fetchval("SELECT count(*) FROM order_items WHERE order_id LIKE $1", f"{tag}-%") == 20_000
    finally:
        await conn.close()


async def count_between(count, low: int, high: int) -> bool:
    return low <= await count() <= high
