"""Journeys end to end on the real stack: orders move customers in and out of a live segment and
each entry is messaged exactly once, through duplicates, replays and a SIGKILLed journeys worker."""

from __future__ import annotations

import signal
import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from test_campaigns import add_customers

from minicrm.records import CustomerChanges
from support.deployment import eventually

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def journeys_worker(pipeline):
    proc = pipeline.start("journeys")
    await pipeline.wait_worker(proc)
    yield proc
    proc.kill()
    if proc in pipeline.processes:
        pipeline.processes.remove(proc)


def window_rule(city: str, orders: int) -> dict:
    return {
        "combinator": "AND",
        "rules": [
            {"attribute": "city", "operator": "=", "value": city},
            {"attribute": "orders_within", "days": 30, "operator": ">=", "value": str(orders)},
        ],
    }


async def customer_ids(pipeline, city: str) -> list[uuid.UUID]:
    conn = await pipeline.db()
    try:
        return [r["id"] for r in await conn.fetch("SELECT id FROM customers WHERE city = $1 ORDER BY email", city)]
    finally:
        await conn.close()


async def create_journey(http, **body) -> str:
    body = {"name": "j", "message": "Hi {{name}}", **body}
    async with http.post("/api/journeys", json=body) as r:
        assert r.status == 201, await r.text()
        created = await r.json()
    assert created["status"] == "ACTIVE"

    async def started():
        async with http.get(f"/api/journeys/{created['journeyId']}") as r:
            return (await r.json())["started"]

    await eventually(started, timeout=30)
    return created["journeyId"]


def order(customer: uuid.UUID, status: str = "COMPLETED", amount: str = "100.00", days_ago: float = 0, oid=None):
    return {
        "id": oid or f"o-{uuid.uuid4().hex[:12]}",
        "customerId": str(customer),
        "amount": amount,
        "status": status,
        "order_date": (datetime.now(UTC) - timedelta(days=days_ago)).isoformat(),
    }


async def post_orders(http, orders: list[dict]) -> None:
    async with http.post("/api/orders", json=orders) as r:
        assert r.status == 202, await r.text()


async def stored(pipeline, orders: list[dict]) -> None:
    """Waits until the orders are stored with the statuses they were last posted with."""
    want = {o["id"]: o["status"] for o in orders}
    conn = await pipeline.db()
    try:

        async def check():
            rows = await conn.fetch("SELECT id, status FROM orders WHERE id = ANY($1)", list(want))
            return {r["id"]: r["status"] for r in rows} == want

        await eventually(check)
    finally:
        await conn.close()


async def journey(http, journey_id: str) -> dict:
    async with http.get(f"/api/journeys/{journey_id}") as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def log_rows(pipeline, journey_id: str) -> list:
    conn = await pipeline.db()
    try:
        return await conn.fetch(
            "SELECT customer_id, status, reason FROM communication_log WHERE campaign_id = $1", uuid.UUID(journey_id)
        )
    finally:
        await conn.close()


async def entries(pipeline, journey_id: str) -> list:
    conn = await pipeline.db()
    try:
        return await conn.fetch(
            "SELECT customer_id, status, reason, order_id FROM journey_entries WHERE journey_id = $1",
            uuid.UUID(journey_id),
        )
    finally:
        await conn.close()


async def settled(http, pipeline, journey_id: str, messages: int) -> dict:
    """The journey once `messages` messages have their outcome and nothing waits; checks its
    counters against its log."""

    async def done():
        j = await journey(http, journey_id)
        return j if j["pending_count"] == 0 and j["sent_count"] + j["failed_count"] == messages else None

    j = await eventually(done, timeout=60)
    rows = await log_rows(pipeline, journey_id)
    assert j["sent_count"] == sum(r["status"] == "SENT" for r in rows)
    assert j["failed_count"] == sum(r["status"] == "FAILED" for r in rows)
    assert j["entered_count"] == len(await entries(pipeline, journey_id))
    return j


async def test_entering_a_live_segment_is_messaged_once(pipeline, http, journeys_worker, normal_vendor):
    city = await add_customers(pipeline, http, 4)
    a, b, c, d = await customer_ids(pipeline, city)
    journey_id = await create_journey(http, trigger={"type": "enters_segment", "ruleGroup": window_rule(city, 2)})

    first = [order(a), order(b), order(b), order(c), order(c), order(d, days_ago=40), order(d, days_ago=45)]
    await post_orders(http, first)
    await stored(pipeline, first)
    await post_orders(http, first)  # the same records again: nobody enters twice
    await post_orders(http, [order(a)])  # a's second order: a enters now
    # c leaves (a refund), then comes back with a new order: "once" does not let c in again
    refund = {**first[3], "status": "REFUNDED"}
    await post_orders(http, [refund])
    await stored(pipeline, [refund])
    back = order(c)
    await post_orders(http, [back])
    await stored(pipeline, [back])

    async def all_entered():
        rows = await entries(pipeline, journey_id)
        return rows if len(rows) == 4 else None

    rows = await eventually(all_entered)
    j = await settled(http, pipeline, journey_id, messages=3)
    messaged = sorted(r["customer_id"] for r in rows if r["status"] == "MESSAGED")
    assert messaged == sorted([a, b, c])  # d's orders are older than the window
    assert [(r["customer_id"], r["reason"]) for r in rows if r["status"] == "SKIPPED"] == [(c, "entered before")]
    assert sorted(r["customer_id"] for r in await log_rows(pipeline, journey_id)) == sorted([a, b, c])
    assert j["entered_count"] == 4 and j["skipped_count"] == 1 and j["skipped"] == {"entered before": 1}


async def test_every_reentry_and_order_placed(pipeline, http, journeys_worker, normal_vendor):
    city = await add_customers(pipeline, http, 2)
    a, b = await customer_ids(pipeline, city)
    again = await create_journey(
        http,
        trigger={"type": "enters_segment", "ruleGroup": window_rule(city, 1)},
        reentry="every",
        cooldownDays=0,
    )
    placed = await create_journey(
        http,
        trigger={
            "type": "order_placed",
            "ruleGroup": {"rules": [{"attribute": "city", "operator": "=", "value": city}]},
        },
        reentry="every",
        cooldownDays=0,
    )
    one = order(a, oid=f"first-{uuid.uuid4().hex[:8]}")
    await post_orders(http, [one])
    await stored(pipeline, [one])
    await post_orders(http, [{**one, "status": "REFUNDED"}])  # a leaves
    await stored(pipeline, [{**one, "status": "REFUNDED"}])
    two = order(a)
    cancelled = order(b, status="CANCELLED")
    await post_orders(http, [two, cancelled])  # a is back; b's cancelled order places nothing
    await stored(pipeline, [two, cancelled])

    await settled(http, pipeline, again, messages=2)
    await settled(http, pipeline, placed, messages=2)  # one and two; not their status changes, not b's
    assert sorted(r["order_id"] for r in await entries(pipeline, placed)) == sorted([one["id"], two["id"]])
    assert all(r["customer_id"] == a for r in await log_rows(pipeline, again))


async def test_a_delayed_entry_is_checked_again_when_due(operator_http, pipeline, http, journeys_worker, normal_vendor):
    city = await add_customers(pipeline, http, 3)
    stays, leaves, opts_out = await customer_ids(pipeline, city)
    journey_id = await create_journey(
        http, trigger={"type": "enters_segment", "ruleGroup": window_rule(city, 1)}, delaySeconds=4
    )
    orders = [order(stays), order(leaves), order(opts_out)]
    await post_orders(http, orders)
    await stored(pipeline, orders)
    await eventually(lambda: _count(entries(pipeline, journey_id), 3))
    await post_orders(http, [{**orders[1], "status": "REFUNDED"}])
    async with operator_http.post("/api/suppressions", json={"customerId": str(opts_out)}) as r:
        assert r.status == 201, await r.text()

    j = await settled(http, pipeline, journey_id, messages=1)
    outcome = {r["customer_id"]: (r["status"], r["reason"]) for r in await entries(pipeline, journey_id)}
    assert outcome[stays] == ("MESSAGED", None)
    assert outcome[leaves] == ("SKIPPED", "left the segment")
    assert outcome[opts_out] == ("SKIPPED", "opted out")
    assert j["skipped"] == {"left the segment": 1, "opted out": 1}


async def test_include_existing_pause_and_delete(pipeline, http, journeys_worker, normal_vendor):
    city = await add_customers(pipeline, http, 3)
    ids = await customer_ids(pipeline, city)
    rule = {"rules": [{"attribute": "city", "operator": "=", "value": city}]}
    journey_id = await create_journey(http, trigger={"type": "enters_segment", "ruleGroup": rule}, includeExisting=True)
    await settled(http, pipeline, journey_id, messages=3)
    assert sorted(r["customer_id"] for r in await log_rows(pipeline, journey_id)) == sorted(ids)

    async with http.post(f"/api/campaigns/{journey_id}/pause") as r:
        assert r.status == 409  # its campaign is the journey's: paused through the journey
    async with http.post(f"/api/journeys/{journey_id}/pause") as r:
        assert r.status == 200 and (await r.json())["status"] == "PAUSED"
    async with http.post(f"/api/journeys/{journey_id}/pause") as r:
        assert r.status == 409
    async with http.delete(f"/api/journeys/{journey_id}") as r:
        assert r.status == 200 and (await r.json())["status"] == "DELETED"
    async with http.get("/api/logs", params={"journeyId": journey_id}) as r:
        assert r.status == 200 and len(await r.json()) == 3

    async def summarised():
        async with http.post("/api/campaigns/get", json={"campaignId": journey_id}) as r:
            c = await r.json()
        return c["status"] == "COMPLETED" and c["summary"]

    await eventually(summarised)


async def test_exactly_once_through_a_sigkill(pipeline, http, journeys_worker, normal_vendor):
    """Orders keep coming while the journeys worker is killed and started again: every customer
    who crossed the threshold is messaged once, nobody else."""
    city = await add_customers(pipeline, http, 60)
    ids = await customer_ids(pipeline, city)
    journey_id = await create_journey(http, trigger={"type": "enters_segment", "ruleGroup": window_rule(city, 2)})
    crossing = ids[:40]  # two orders each; the other 20 one order
    rounds = [[order(c) for c in ids], [order(c) for c in crossing]]
    await post_orders(http, rounds[0])
    await stored(pipeline, rounds[0])
    killed = journeys_worker
    killed.kill(signal.SIGKILL)
    await post_orders(http, rounds[1][:20])
    replacement = pipeline.start("journeys")
    await post_orders(http, rounds[1][20:])
    await post_orders(http, rounds[1])  # and everything again
    await pipeline.wait_worker(replacement)
    replayed = CustomerChanges.encode(changes=[{"customer_id": str(c)} for c in ids])  # straight onto the topic
    await pipeline.produce("customer-changes", [replayed, replayed])
    await settled(http, pipeline, journey_id, messages=40)
    assert sorted(r["customer_id"] for r in await log_rows(pipeline, journey_id)) == sorted(crossing)
    pipeline.processes.remove(killed)


async def test_time_alone_moves_a_customer_in_at_midnight(pipeline, http, journeys_worker, normal_vendor):
    """A lapsed-customer journey: nobody orders, the day turns, and the customer whose last order
    is now more than 30 days old enters, found by the midnight re-evaluation (the day is turned
    by moving the customer's dates back a day and the clock's last day to yesterday)."""
    city = await add_customers(pipeline, http, 2)
    lapsing, recent = await customer_ids(pipeline, city)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    orders = [
        {**order(lapsing), "order_date": (today - timedelta(days=30) + timedelta(hours=1)).isoformat()},
        order(recent, days_ago=2),
    ]
    await post_orders(http, orders)
    await stored(pipeline, orders)
    rule = {
        "rules": [
            {"attribute": "city", "operator": "=", "value": city},
            {"attribute": "last_order_date", "operator": "<", "value": "30"},
        ]
    }
    journey_id = await create_journey(http, trigger={"type": "enters_segment", "ruleGroup": rule})
    assert await entries(pipeline, journey_id) == []
    conn = await pipeline.db()
    try:
        async with conn.transaction():
            await conn.execute(
                "UPDATE orders SET order_date = order_date - interval '1 day' WHERE customer_id = $1", lapsing
            )
            await conn.execute(
                "UPDATE customers SET last_order_date = last_order_date - interval '1 day' WHERE id = $1", lapsing
            )
            await conn.execute(
                "INSERT INTO journey_clock (day) VALUES ($1) ON CONFLICT (only_row) DO UPDATE SET day = $1",
                (today - timedelta(days=1)).date(),
            )
    finally:
        await conn.close()
    await settled(http, pipeline, journey_id, messages=1)
    assert [r["customer_id"] for r in await entries(pipeline, journey_id)] == [lapsing]


async def _count(rows, n: int) -> bool:
    return len(await rows) == n


async def test_journeys_are_validated_and_owned(pipeline, http):
    bad = [
        ({"trigger": {"type": "enters_segment"}}, "trigger"),
        ({"trigger": {"type": "left"}}, "trigger"),
        (
            {"trigger": {"type": "order_placed"}, "quietHours": {"start": "25:00", "end": "09:00", "timezone": "UTC"}},
            "quietHours",
        ),
        (
            {
                "trigger": {"type": "order_placed"},
                "quietHours": {"start": "21:00", "end": "09:00", "timezone": "Mars/Base"},
            },
            "quietHours",
        ),
        (
            {
                "trigger": {
                    "type": "order_placed",
                    "ruleGroup": {"rules": [{"attribute": "orders_within", "operator": ">", "value": "1"}]},
                }
            },
            "trigger",
        ),
    ]
    for body, field in bad:
        async with http.post("/api/journeys", json={"name": "j", "message": "Hi", **body}) as r:
            assert r.status == 400, body
            assert field in await r.text()
    journey_id = await create_journey(http, trigger={"type": "order_placed"})
    other = (await pipeline.new_user())[1]
    async with aiohttp.ClientSession(base_url=pipeline.url, headers={"Authorization": f"Bearer {other}"}) as s:
        for method, path in (("GET", ""), ("POST", "/pause"), ("DELETE", "")):
            async with s.request(method, f"/api/journeys/{journey_id}{path}") as r:
                assert r.status == 404
        async with s.get("/api/journeys") as r:
            assert journey_id not in {j["id"] for j in await r.json()}
