"""A 2xx is a promise: what the edge accepts ends stored or dead-lettered, and what the pipeline
would refuse the edge refuses first; on the real broker, database and processes."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import orjson
import pytest
from test_campaigns import add_customers, assert_exact, finished, start_campaign
from test_ingest import make_order

from support.deployment import eventually, vendor, vendor_stats

pytestmark = pytest.mark.integration
NUL_MESSAGE = "text holds a NUL character (\\u0000), which cannot be stored"


async def answer(http, path, body):
    async with http.post(path, json=body) as r:
        return r.status, await r.json()


async def test_text_postgresql_cannot_store_is_refused_and_nothing_published(pipeline, http):
    before = await pipeline.edge_offsets()
    status, body = await answer(
        http,
        "/api/customers",
        [{"name": "Good Name", "email": "g@example.com"}, {"name": "Bad\u0000Name", "email": "b@example.com"}],
    )
    assert (status, body["detail"]) == (400, [{"item": 1, "field": "name", "message": NUL_MESSAGE}])
    rule = {"combinator": "AND", "rules": [{"attribute": "city", "operator": "=", "value": "Pu\u0000ne"}]}
    for path in ("/api/customers/get", "/api/campaigns/get"):
        status, body = await answer(http, path, rule if path.endswith("customers/get") else {"ruleGroup": rule})
        assert status == 400 and body["detail"][0]["field"].endswith("rules.0.value")
    status, body = await answer(http, "/api/campaigns", {"name": "n", "ruleGroup": {}, "message": "Hi\u0000"})
    assert status == 400 and body["detail"][0]["field"] == "message"
    status, body = await answer(http, "/api/customers", {"name": "Tab\tName", "email": "t@example.com"})
    assert status == 400 and body["detail"][0]["field"] == "name"
    assert await pipeline.edge_offsets() == before


async def test_orders_for_unknown_customers_are_refused_by_id(pipeline, http):
    [known] = (await answer(http, "/api/customers", {"name": "Known One", "email": f"{uuid.uuid4()}@x.co"}))[1]["ids"]
    ghost = str(uuid.uuid4())
    now = datetime.now(UTC)
    before = await pipeline.edge_offsets()
    # The known customer was posted a moment ago: the edge waits for it, and for the ghost in vain.
    status, body = await answer(
        http,
        "/api/orders",
        [
            make_order(f"k-{uuid.uuid4()}", known, "COMPLETED", now),
            make_order(f"g-{uuid.uuid4()}", ghost, "COMPLETED", now),
        ],
    )
    assert status == 400
    assert body["detail"] == [{"item": 1, "field": "customerId", "message": f"customer {ghost} does not exist"}]
    assert await pipeline.edge_offsets() == before


async def test_an_order_that_waits_for_its_customer_holds_up_nobody(pipeline, http):
    """Orders for customers not stored yet come straight onto the topic (a topic is never
    trusted); valid orders right behind them are stored within seconds; a parked order is
    written when its customer arrives, and dead-lettered when none does."""
    tag = uuid.uuid4().hex[:8]
    now = datetime.now(UTC)
    customers = [{"name": f"Buyer {i}", "email": f"{tag}.{i}@example.com"} for i in range(50)]
    ids = (await answer(http, "/api/customers", customers))[1]["ids"]
    late_email = f"{tag}.late@example.com"
    late_id = str(uuid.uuid5(uuid.UUID("5f1d7e2a-8c2b-4f7e-9a51-6b0c3d2e1f00"), late_email))
    waiting = [make_order(f"{tag}-wait-{i}", str(uuid.uuid4()), "COMPLETED", now) for i in range(4)]
    waiting.append(make_order(f"{tag}-late", late_id, "COMPLETED", now))
    await pipeline.produce("orders", [orjson.dumps({"orders": [to_record(o)]}) for o in waiting])
    started = time.monotonic()
    valid = [make_order(f"{tag}-ok-{i}", ids[i], "COMPLETED", now) for i in range(50)]
    assert (await answer(http, "/api/orders", valid))[0] == 202
    conn = await pipeline.db()
    try:
        await eventually(
            lambda: _count(conn, "SELECT count(*) FROM orders WHERE id LIKE $1", f"{tag}-ok-%", 50),
            timeout=30,
            interval=0.1,
        )
        behind = time.monotonic() - started
        assert behind < 5, f"valid orders took {behind:.1f} s behind the waiting ones"
        assert await conn.fetchval("SELECT count(*) FROM parked_orders WHERE order_id LIKE $1", f"{tag}-%") == 5
        await answer(http, "/api/customers", {"name": "Late Comer", "email": late_email})
        await eventually(lambda: _count(conn, "SELECT count(*) FROM orders WHERE id = $1", f"{tag}-late", 1))
        assert await conn.fetchval("SELECT total_spend FROM customers WHERE id = $1", uuid.UUID(late_id)) > 0
        await eventually(
            lambda: _count(conn, "SELECT count(*) FROM dead_letters WHERE key LIKE $1", f"{tag}-wait-%", 4), timeout=30
        )
        reason = await conn.fetchval("SELECT reason FROM dead_letters WHERE key = $1", f"{tag}-wait-0")
        assert "does not exist" in reason
        assert await conn.fetchval("SELECT count(*) FROM parked_orders WHERE order_id LIKE $1", f"{tag}-%") == 0
    finally:
        await conn.close()
    print(f"valid orders stored {behind:.2f} s after being posted behind 5 waiting ones")


def to_record(order: dict) -> dict:
    return {
        "id": order["id"],
        "customer_id": order["customerId"],
        "order_date": order["order_date"],
        "amount": str(order["amount"]),
        "status": order["status"],
        "items": order["items"],
    }


async def _count(conn, query, arg, expected):
    return await conn.fetchval(query, arg) == expected


async def test_customers_may_share_a_phone(pipeline, http):
    tag = uuid.uuid4().hex[:8]
    family = [{"name": f"Member {i}", "email": f"{tag}.{i}@example.com", "phone": "9876543210"} for i in range(3)]
    assert (await answer(http, "/api/customers", family))[0] == 202
    conn = await pipeline.db()
    try:
        await eventually(lambda: _count(conn, "SELECT count(*) FROM customers WHERE email LIKE $1", f"{tag}.%", 3))
    finally:
        await conn.close()


async def test_records_no_stage_can_use_end_in_dead_letters_and_campaigns_end_failed(operator_http, pipeline, http):
    """Records past the edge that the pipeline cannot use: each is dead-lettered with its
    reason, the rest of its batch is stored, and a campaign whose request fails ends FAILED."""
    tag = uuid.uuid4().hex[:8]
    [cid] = (await answer(http, "/api/customers", {"name": "Buyer", "email": f"{tag}@example.com"}))[1]["ids"]
    now = datetime.now(UTC)
    good = to_record(make_order(f"{tag}-good", cid, "COMPLETED", now))
    bad_amount = {**good, "id": f"{tag}-nan", "amount": "not a number"}
    huge = {**good, "id": f"{tag}-huge", "amount": "1e400"}
    bad_customer = {**good, "id": f"{tag}-bad", "customer_id": "not-a-uuid"}
    request = {
        "id": str(uuid.uuid4()),
        "user_id": "someone",
        "name": "Broken",
        "intent": "",
        "segment": {"rules": [{"attribute": "shoe_size", "operator": ">", "value": "9"}]},
        "message": "Hi",
    }
    conn = await pipeline.db()
    try:
        await eventually(lambda: _count(conn, "SELECT count(*) FROM customers WHERE id = $1", uuid.UUID(cid), 1))
        await pipeline.produce("orders", [orjson.dumps({"orders": [bad_amount, good, huge, bad_customer]})])
        await pipeline.produce("campaigns", [orjson.dumps(request)])
        await eventually(lambda: _count(conn, "SELECT count(*) FROM dead_letters WHERE key LIKE $1", f"{tag}-%", 3))
        assert await conn.fetchval("SELECT count(*) FROM orders WHERE id = $1", f"{tag}-good") == 1
        failed = await eventually(
            lambda: conn.fetchrow(
                "SELECT status, failure_reason FROM campaigns WHERE id = $1 AND status = 'FAILED'",
                uuid.UUID(request["id"]),
            )
        )
        assert "shoe_size" in failed["failure_reason"]
    finally:
        await conn.close()
    async with operator_http.get("/api/dead-letters", params={"topic": "orders", "limit": "1000"}) as r:
        letters = {d["key"]: d for d in await r.json()}
    assert letters[f"{tag}-nan"]["payload"] == {"orders": [bad_amount]}
    assert "InvalidOperation" in letters[f"{tag}-nan"]["reason"]
    assert "not-a-uuid" in letters[f"{tag}-bad"]["reason"] or "UUID" in letters[f"{tag}-bad"]["reason"]
    async with http.get("/readyz") as r:
        assert (await r.json())["dead_letters"] >= 4
    async with operator_http.get("/api/dead-letters", params={"since": "2000-01-01T00:00:00", "limit": "1"}) as r:
        assert r.status == 200 and int(r.headers["X-Total-Count"]) >= 4
    async with operator_http.get("/api/dead-letters", params={"since": "0001-01-01T00:00:00+14:00"}) as r:
        assert r.status == 400  # before the year 1 in UTC
    async with operator_http.get("/api/dead-letters", params={"topic": "orders\x00"}) as r:
        assert r.status == 400 and (await r.json())["detail"][0]["field"] == "topic"


async def test_a_dead_letter_replays_after_the_fix(pipeline, http):
    """An order dead-lettered because its customer never came is replayed once the customer exists."""
    import asyncio
    import sys

    tag = uuid.uuid4().hex[:8]
    email = f"{tag}@example.com"
    customer_id = str(uuid.uuid5(uuid.UUID("5f1d7e2a-8c2b-4f7e-9a51-6b0c3d2e1f00"), email))
    order = to_record(make_order(f"{tag}-replay", customer_id, "COMPLETED", datetime.now(UTC)))
    await pipeline.produce("orders", [orjson.dumps({"orders": [order]})])
    conn = await pipeline.db()
    try:
        letter = await eventually(
            lambda: conn.fetchval("SELECT id FROM dead_letters WHERE key = $1", order["id"]), timeout=30
        )
        await answer(http, "/api/customers", {"name": "Came Late", "email": email})
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "minicrm.cli",
            "dead-letters",
            "replay",
            "--id",
            str(letter),
            env=pipeline.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
        assert proc.returncode == 0 and b"replayed 1 dead letter" in out, out.decode()
        await eventually(lambda: _count(conn, "SELECT count(*) FROM orders WHERE id = $1", order["id"], 1))
        assert await conn.fetchval("SELECT replayed_at IS NOT NULL FROM dead_letters WHERE id = $1", letter)
    finally:
        await conn.close()


async def test_the_longest_message_on_a_large_segment_completes(pipeline, http, normal_vendor):
    city = await add_customers(pipeline, http, 3000)
    message = "Hi {{name}}! " + "Our biggest sale of the year is here. " * 52
    assert 1900 < len(message) <= 2000
    body = {
        "name": "Long one",
        "ruleGroup": {"rules": [{"attribute": "city", "operator": "=", "value": city}]},
        "message": message,
    }
    status, created = await answer(http, "/api/campaigns", body)
    assert status == 201
    c = await finished(http, created["campaignId"])
    await assert_exact(pipeline, c, 3000)


async def test_a_vendor_with_a_body_limit_gets_smaller_calls(pipeline, http, normal_vendor):
    """The original vendor took 100 kB bodies; our 1,000-message calls are about 250 kB."""
    await vendor(pipeline, body_limit=100 * 1024)
    city = await add_customers(pipeline, http, 3000)
    c = await finished(http, await start_campaign(http, city))
    await assert_exact(pipeline, c, 3000)
    assert 0.85 < c["sent_count"] / 3000 < 0.95  # the simulator's 10% failures, none from the size
    assert (await vendor_stats(pipeline))["too_large_calls"] >= 1


async def test_an_order_cannot_move_to_another_customer(pipeline, http):
    tag = uuid.uuid4().hex[:8]
    a, b = (
        await answer(
            http,
            "/api/customers",
            [{"name": "Owner A", "email": f"{tag}.a@x.co"}, {"name": "Owner B", "email": f"{tag}.b@x.co"}],
        )
    )[1]["ids"]
    now = datetime.now(UTC)
    first = make_order(f"{tag}-o", a, "COMPLETED", now)
    assert (await answer(http, "/api/orders", first))[0] == 202
    conn = await pipeline.db()
    try:
        await eventually(lambda: _count(conn, "SELECT count(*) FROM orders WHERE id = $1", first["id"], 1))
    finally:
        await conn.close()
    status, body = await answer(
        http, "/api/orders", [make_order(f"{tag}-new", b, "PENDING", now), {**first, "customerId": b}]
    )
    assert status == 409
    assert body["detail"] == [
        {"item": 1, "field": "customerId", "message": f"order {tag}-o belongs to customer {a}, not {b}"}
    ]
