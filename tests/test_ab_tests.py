"""Variants and A/B tests end to end: each customer's variant drawn by weight and kept on a resend;
a test cohort sent first, the campaign TESTING, and the winner's message sent to the rest."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from test_campaign_controls import act, final, log_counts
from test_campaigns import add_customers, campaign, city_rule, finished

from minicrm import experiments
from support.deployment import eventually

pytestmark = pytest.mark.integration

VARIANTS = [{"name": "A", "message": "Hi {{name}}, plan A"}, {"name": "B", "message": "Hi {{name}}, plan B"}]


async def create(http, body: dict) -> str:
    async with http.post("/api/campaigns", json=body) as r:
        assert r.status == 201, await r.text()
        return (await r.json())["campaignId"]


async def test_weights_split_the_audience_and_a_resend_keeps_each_variant(pipeline, http, normal_vendor):
    city = await add_customers(pipeline, http, 10_000)
    cid = await create(http, {"name": "Split", "ruleGroup": city_rule(city), "variants": VARIANTS, "weights": [70, 30]})
    c = await finished(http, cid, timeout=180)
    a, b = c["variants"]
    assert (a["name"], b["name"]) == ("A", "B") and a["audience_size"] + b["audience_size"] == 10_000
    assert abs(a["audience_size"] / 10_000 - 0.70) <= 0.02
    assert a["sent_count"] + a["failed_count"] == a["audience_size"]  # each variant's figures add up
    assert sum(v["sent_count"] for v in c["variants"]) == c["sent_count"]
    conn = await pipeline.db()
    try:
        first = dict(
            await conn.fetch(
                "SELECT customer_id, variant FROM communication_log WHERE campaign_id = $1", uuid.UUID(cid)
            )
        )
        messages = await conn.fetch(
            "SELECT variant, personalized_msg, customer_name FROM communication_log WHERE campaign_id = $1 LIMIT 50",
            uuid.UUID(cid),
        )
        for m in messages:
            assert m["personalized_msg"] == f"Hi {m['customer_name']}, plan {m['variant']}"
        for customer, variant in list(first.items())[:500]:  # drawn from the campaign and the customer alone
            assert variant == experiments.variant_of(
                experiments.bucket(cid, customer, experiments.VARIANT), ["A", "B"], [70, 30]
            )
        async with http.post(f"/api/campaigns/{cid}/resend", json={"statuses": ["FAILED"]}) as r:
            assert r.status == 201, await r.text()
            again = (await r.json())["campaignId"]
        resent = await finished(http, again)
        assert resent["audience_size"] == c["failed_count"]
        rows = await conn.fetch(
            "SELECT customer_id, variant FROM communication_log WHERE campaign_id = $1", uuid.UUID(again)
        )
        assert len(rows) == c["failed_count"] and all(r["variant"] == first[r["customer_id"]] for r in rows)
    finally:
        await conn.close()


async def start_test(pipeline, http, customers: int, test_percent: int, metric: str) -> tuple[str, dict]:
    """An A/B test of its own customers, read once its test cohort is delivered (TESTING)."""
    city = await add_customers(pipeline, http, customers)
    cid = await create(
        http,
        {
            "name": f"Tested {city}",
            "ruleGroup": city_rule(city),
            "variants": VARIANTS,
            "abTest": {"testPercent": test_percent, "metric": metric, "decideAfterSeconds": 3600},
        },
    )

    async def cohort_delivered():
        c = await campaign(http, cid)
        return c if c["status"] == "TESTING" and c["pending_count"] == 0 else None

    return cid, await eventually(cohort_delivered, timeout=120)


async def run_ab_test(pipeline, http, orders_for: dict[str, float]) -> dict:
    """An A/B test of 2,000 customers, half of them in its test cohort; once its cohort is
    delivered, orders from that share of each variant's SENT customers, then the decision is due."""
    cid, c = await start_test(pipeline, http, 2000, 50, "conversion_rate")
    assert abs(c["waiting_count"] - 1000) < 100 and c["sent_count"] + c["failed_count"] + c["waiting_count"] == 2000
    conn = await pipeline.db()
    try:
        sent = await conn.fetch(
            "SELECT customer_id, variant FROM communication_log WHERE campaign_id = $1 AND status = 'SENT'"
            " ORDER BY customer_id",
            uuid.UUID(cid),
        )
        now = datetime.now(UTC) + timedelta(seconds=1)
        orders, expected = [], {"A": 0, "B": 0}
        for i, row in enumerate(sent):
            share = orders_for.get(row["variant"], 0)
            if share and i % round(1 / share) == 0:
                expected[row["variant"]] += 1
                orders.append(
                    {
                        "id": f"{cid}-{i}",
                        "customerId": str(row["customer_id"]),
                        "amount": 25,
                        "status": "COMPLETED",
                        "order_date": now.isoformat(),
                        "items": [{"name": "x", "quantity": 1, "unitPrice": 25, "total": 25}],
                    }
                )
        if orders:
            async with http.post("/api/orders", json=orders) as r:
                assert r.status == 202, await r.text()

        async def attributed():
            c = await campaign(http, cid)
            return {v["name"]: v["conversions"] for v in c["variants"]} == expected

        await eventually(attributed, timeout=60)
        await conn.execute("UPDATE campaigns SET testing_until = now() WHERE id = $1", uuid.UUID(cid))  # time passes
        done = await finished(http, cid)
        rest = await conn.fetch(
            "SELECT variant, personalized_msg, customer_name FROM communication_log"
            " WHERE campaign_id = $1 AND status <> 'SKIPPED'",
            uuid.UUID(cid),
        )
        return {"campaign": done, "log": rest}
    finally:
        await conn.close()


async def test_the_variant_that_converts_better_goes_to_the_rest(pipeline, http, normal_vendor):
    result = await run_ab_test(pipeline, http, {"A": 0.05, "B": 0.5})
    c = result["campaign"]
    assert c["winner"] == "B" and c["decision"]["significant"] and c["decision"]["p_value"] < 0.05
    assert "B goes to the rest" in c["decision"]["reason"]
    b = next(v for v in c["variants"] if v["name"] == "B")
    assert b["audience_size"] > 1400  # its test share and all the rest
    assert sum(1 for m in result["log"] if m["variant"] == "B") == b["audience_size"]
    assert all(m["personalized_msg"] == f"Hi {m['customer_name']}, plan {m['variant']}" for m in result["log"])
    assert c["sent_count"] + c["failed_count"] == 2000 and c["waiting_count"] == 0
    assert "Variant B won" in c["summary"]


async def test_without_a_difference_the_first_variant_wins_and_says_why(pipeline, http, normal_vendor):
    c = (await run_ab_test(pipeline, http, {"A": 0.2, "B": 0.2}))["campaign"]
    assert c["winner"] == "A" and not c["decision"]["significant"] and c["decision"]["p_value"] > 0.05
    assert c["decision"]["reason"].startswith("no significant difference between the variants")
    assert c["decision"]["reason"].endswith("A, the first, goes to the rest")
    assert c["sent_count"] + c["failed_count"] == 2000


async def test_a_test_is_paused_resumed_and_cancelled_like_any_state(pipeline, http, normal_vendor):
    cid, testing = await start_test(pipeline, http, 1000, 30, "delivery_rate")
    waiting = testing["waiting_count"]
    assert (await act(http, cid, "pause"))["status"] == "PAUSED"
    assert (await act(http, cid, "resume"))["status"] == "TESTING"  # not RUNNING: nothing is decided
    cancelled = await act(http, cid, "cancel")
    assert cancelled["status"] == "CANCELLED" and cancelled["winner"] is None
    c = await final(http, cid, "CANCELLED")
    assert c["waiting_count"] == 0 and c["cancelled_count"] == waiting > 600
    assert c["sent_count"] + c["failed_count"] + c["cancelled_count"] == 1000 == c["audience_size"]
    assert await log_counts(pipeline, cid) == {
        k: v for k, v in {"SENT": c["sent_count"], "FAILED": c["failed_count"], "CANCELLED": waiting}.items() if v
    }
