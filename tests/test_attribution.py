"""What a campaign earned: orders credited to its messages by their date, once each, on the real
database (the statement the orders agent runs) and end to end, with a holdout for the lift."""

from __future__ import annotations

import signal
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from test_campaigns import add_customers, campaign, city_rule, finished

from minicrm import experiments, sql
from minicrm.records import CampaignRequest
from support.deployment import eventually

pytestmark = pytest.mark.integration

# What the campaigns' figures must equal: a plain query over the log and the completed orders.
ORACLE = """
SELECT count(DISTINCT l.customer_id) FILTER (WHERE l.status = 'SENT')::int AS conversions,
       count(DISTINCT l.customer_id) FILTER (WHERE l.status = 'HOLDOUT')::int AS holdout_conversions,
       coalesce(sum(o.amount) FILTER (WHERE l.status = 'SENT'), 0) AS revenue
FROM communication_log l
JOIN campaigns c ON c.id = l.campaign_id
JOIN orders o ON o.customer_id = l.customer_id AND o.status = 'COMPLETED'
WHERE l.campaign_id = $1 AND NOT l.test AND (
    (l.status = 'SENT' AND o.order_date > l.delivered_at
     AND o.order_date <= l.delivered_at + c.attribution_days * interval '1 day')
    OR (l.status = 'HOLDOUT' AND o.order_date > c.started_at
        AND o.order_date <= c.started_at + c.attribution_days * interval '1 day'))
"""


async def figures(conn, campaign_id: uuid.UUID) -> tuple[int, int, Decimal]:
    row = await conn.fetchrow(
        "SELECT conversions, holdout_conversions, attributed_revenue FROM campaigns WHERE id = $1", campaign_id
    )
    return row["conversions"], row["holdout_conversions"], row["attributed_revenue"]


async def oracle(conn, campaign_id: uuid.UUID) -> tuple[int, int, Decimal]:
    row = await conn.fetchrow(ORACLE, campaign_id)
    return row["conversions"], row["holdout_conversions"], row["revenue"]


async def test_orders_are_credited_by_their_date_once(db_pool):
    now = datetime.now(UTC)
    tag = uuid.uuid4().hex[:8]
    people = {who: uuid.uuid4() for who in ("early", "inside", "late", "holdout", "failed", "both")}
    await db_pool.copy_records_to_table(
        "customers",
        columns=["id", "name", "email", "city"],
        records=[(cid, f"Person {who}", f"{who}.{tag}@example.com", tag) for who, cid in people.items()],
    )
    first = CampaignRequest(
        id=str(uuid.uuid4()),
        user_id="u",
        name="n",
        intent="",
        message="Hi",
        segment={},
        attribution_days=7,
        holdout_percent=20,
    )
    second = CampaignRequest(id=str(uuid.uuid4()), user_id="u", name="m", intent="", message="Hi", segment={})
    sent_at = now - timedelta(days=5)
    async with db_pool.acquire() as conn:
        for request in (first, second):
            await sql.campaigns.create(conn, request.row("RUNNING"))
            await conn.execute(
                "UPDATE campaigns SET started_at = $2 WHERE id = $1", uuid.UUID(request.id), now - timedelta(days=6)
            )
        log = [
            (first, who, status)
            for who, status in (
                ("early", "SENT"),
                ("inside", "SENT"),
                ("late", "SENT"),
                ("holdout", "HOLDOUT"),
                ("failed", "FAILED"),
                ("both", "SENT"),
            )
        ]
        log.append((second, "both", "SENT"))
        await conn.executemany(
            "INSERT INTO communication_log (id, campaign_id, customer_id, customer_name, email, personalized_msg,"
            " status, delivered_at) VALUES ($1, $2, $3, 'x', 'x@example.com', 'Hi', $4, $5)",
            [
                (uuid.uuid4(), uuid.UUID(r.id), people[who], status, None if status == "HOLDOUT" else sent_at)
                for r, who, status in log
            ],
        )

    orders = [  # (id, customer, date, amount)
        ("early", "early", sent_at - timedelta(hours=1), "10"),  # before the message: nothing
        ("inside-1", "inside", sent_at + timedelta(days=1), "100"),
        ("inside-2", "inside", sent_at + timedelta(days=2), "50"),  # the same customer: revenue, no new conversion
        ("late", "late", sent_at + timedelta(days=8), "70"),  # past the window
        ("holdout", "holdout", now - timedelta(days=5), "30"),  # after the start: the holdout's conversion
        ("failed", "failed", sent_at + timedelta(days=1), "20"),  # a message that failed earns nothing
        ("both", "both", sent_at + timedelta(days=1), "40"),  # messaged by both campaigns: credited to both
    ]
    ids = {o[0]: f"{tag}-{o[0]}" for o in orders}

    async def post(batch):
        async with db_pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                "INSERT INTO orders (id, customer_id, order_date, amount, status) VALUES ($1, $2, $3, $4, 'COMPLETED')"
                " ON CONFLICT (id) DO NOTHING",
                [(ids[i], people[c], d, Decimal(a)) for i, c, d, a in batch],
            )
            await sql.attribution.attribute(
                conn,
                [ids[i] for i, *_ in batch],
                [str(people[c]) for _, c, _, _ in batch],
                [d for _, _, d, _ in batch],
                [Decimal(a) for *_, a in batch],
            )

    await post(orders[2:3])  # the later order first: a backfill of an earlier one moves the conversion's date
    await post(orders)
    await post(orders)  # replayed: nothing moves
    async with db_pool.acquire() as conn:
        for request in (first, second):
            campaign_id = uuid.UUID(request.id)
            assert await figures(conn, campaign_id) == await oracle(conn, campaign_id)
        assert await figures(conn, uuid.UUID(first.id)) == (2, 1, Decimal("190.00"))  # inside + both; 100+50+40
        assert await figures(conn, uuid.UUID(second.id)) == (1, 0, Decimal("40.00"))
        converted = await conn.fetchval(
            "SELECT converted_at FROM conversions WHERE campaign_id = $1 AND customer_id = $2",
            uuid.UUID(first.id),
            people["inside"],
        )
        assert converted == orders[1][2]


async def test_a_campaign_earns_what_its_customers_order_even_through_a_killed_worker(pipeline, http, normal_vendor):
    city = await add_customers(pipeline, http, 600)
    body = {
        "name": f"Earnings {city}",
        "ruleGroup": city_rule(city),
        "message": "Hi {{name}}",
        "holdoutPercent": 25,
        "attributionDays": 7,
    }
    async with http.post("/api/campaigns", json=body) as r:
        assert r.status == 201, await r.text()
        created = await r.json()
    cid = created["campaignId"]
    assert created["audience_size"] + created["holdout_size"] == 600  # the holdout's share, about
    assert (await campaign(http, cid))["audience_size"] is not None  # from the moment it exists
    done = await finished(http, cid)
    assert done["holdout_size"] + done["audience_size"] == 600
    assert abs(done["holdout_size"] - 150) < 50  # a quarter, by a hash of campaign and customer
    conn = await pipeline.db()
    try:
        rows = await conn.fetch(
            "SELECT customer_id, status FROM communication_log WHERE campaign_id = $1 ORDER BY customer_id",
            uuid.UUID(cid),
        )
        for row in rows:  # the holdout is the campaign's and customer's hash, nothing else
            held = experiments.bucket(cid, row["customer_id"], experiments.HOLDOUT) < 2500
            assert (row["status"] == "HOLDOUT") == held
        now = datetime.now(UTC)
        orders = []
        for i, row in enumerate(rows):
            if i % 3 == 0:
                orders.append(order(f"{cid}-{i}", row["customer_id"], now + timedelta(seconds=1), 10 + i))
            if i % 5 == 0:
                orders.append(order(f"{cid}-old-{i}", row["customer_id"], now - timedelta(days=30), 7))
        [worker] = [p for p in pipeline.processes if p.role == "worker"]
        async with http.post("/api/orders", json=orders[: len(orders) // 2]) as r:
            assert r.status == 202, await r.text()
        worker.kill(signal.SIGKILL)  # while it takes the first half: the replacement reads on from its last commit
        pipeline.processes.remove(worker)
        replacement = pipeline.start("worker")
        async with http.post("/api/orders", json=orders) as r:  # the first half again, and the rest
            assert r.status == 202, await r.text()
        await pipeline.wait_worker(replacement)
        await eventually(lambda: stored(conn, [o["id"] for o in orders]), timeout=90)
        expected = await oracle(conn, uuid.UUID(cid))
        assert expected[0] > 50 and expected[1] > 10  # the test means something
        await eventually(lambda: _equals(figures(conn, uuid.UUID(cid)), expected), timeout=30)
    finally:
        await conn.close()
    c = await campaign(http, cid)
    assert (c["conversions"], c["holdout_conversions"], Decimal(str(c["attributed_revenue"]))) == expected
    assert c["conversion_rate"] == round(c["conversions"] / c["sent_count"], 4)
    lift = experiments.lift(c["conversions"], c["sent_count"], c["holdout_conversions"], c["holdout_size"])
    assert c["lift"] == round(lift.difference, 4) and c["lift_interval"] == [round(lift.low, 4), round(lift.high, 4)]
    assert c["attribution_closes_at"] is not None


def order(order_id: str, customer_id: uuid.UUID, when: datetime, amount: int) -> dict:
    return {
        "id": order_id,
        "customerId": str(customer_id),
        "amount": amount,
        "status": "COMPLETED",
        "order_date": when.isoformat(),
        "items": [{"name": "x", "quantity": 1, "unitPrice": amount, "total": amount}],
    }


async def stored(conn, ids: list[str]) -> bool:
    return await conn.fetchval("SELECT count(*) FROM orders WHERE id = ANY($1::text[])", ids) == len(set(ids))


async def _equals(coro, value) -> bool:
    return await coro == value
