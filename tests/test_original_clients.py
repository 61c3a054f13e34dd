"""The original system's clients, unchanged, against a deployment in open mode with the vendor
simulator in its `original` profile (100 kB bodies, unsigned receipts): the requests below are
the ones the original frontend and data generator make, with their bodies, no query strings
and no token."""

from __future__ import annotations

import uuid

import aiohttp
import pytest

from minicrm import campaign_states
from support.deployment import deployment, eventually, vendor_stats

pytestmark = pytest.mark.integration
HISTORY_FIELDS = {
    "id",
    "name",
    "userId",
    "intent",
    "segment",
    "message",
    "audience_size",
    "status",
    "pending_count",
    "sent_count",
    "failed_count",
    "createdAt",
    "summary",
}


@pytest.fixture(scope="module")
async def original(stack, tmp_path_factory):
    async with deployment(
        tmp_path_factory.mktemp("original"), MINICRM_OPEN_MODE="1", MINICRM_SIMULATOR_PROFILE="original"
    ) as p:
        yield p


async def test_the_original_frontend_from_segment_to_summary(original):
    city = f"Town-{uuid.uuid4().hex[:6]}"
    user = f"google-{uuid.uuid4().hex[:8]}"
    rule_group = {
        "id": "group-root",
        "combinator": "AND",
        "rules": [
            {"id": "rule-1", "attribute": "city", "operator": "=", "value": city},
            {"id": "rule-2", "attribute": "", "operator": "", "value": ""},
        ],
    }  # the builder's blank row
    async with aiohttp.ClientSession(base_url=original.url) as http:
        for i in range(1500):  # the data generator posts one customer at a time
            if i < 60:
                async with http.post(
                    "/api/customers",
                    json={
                        "name": f"Shopper {i}",
                        "email": f"{city}.{i}@example.com",
                        "phone": f"98{i:08d}",
                        "city": city,
                    },
                ) as r:
                    assert r.status == 202 and "message" in await r.json()
        bulk = [{"name": f"Shopper {i}", "email": f"{city}.{i}@example.com", "city": city} for i in range(60, 1500)]
        async with http.post("/api/customers", json=bulk) as r:
            assert r.status == 202

        async def estimate():
            async with http.post("/api/customers/get", json=rule_group) as r:
                return len(await r.json()) == 1500

        await eventually(estimate)  # the audience estimate is the array's length: every match

        body = {
            "userId": user,
            "name": "Winter sale",
            "ruleGroup": rule_group,
            "message": "Hi {{name}}, our winter sale is on in {{city}}!",
        }
        async with http.post("/api/campaigns", json=body) as r:
            assert r.status == 201
            created = await r.json()
        assert {"message", "campaignId", "audience_size", "intent"} <= set(created)

        async with http.post("/api/campaigns/get", json={"campaignId": created["campaignId"]}) as r:
            assert r.status == 200  # readable at once, as the original answered after storing it

        async def listed():
            async with http.post("/api/campaigns/get", json={"userId": user}) as r:
                [campaign] = await r.json()
            assert set(campaign) >= HISTORY_FIELDS and campaign["status"] in campaign_states.STATUSES
            assert campaign["status"] != "COMPLETED" or campaign["summary"], "COMPLETED without its summary"
            return campaign if campaign["status"] == "COMPLETED" else None

        campaign = await eventually(listed, timeout=120, interval=0.05)
    assert campaign["id"] == created["campaignId"] and campaign["userId"] == user
    assert campaign["audience_size"] == 1500 and campaign["pending_count"] == 0
    assert campaign["sent_count"] + campaign["failed_count"] == 1500
    assert 0.85 < campaign["sent_count"] / 1500 < 0.95  # the simulator's 10% failures, none from body sizes
    assert campaign["intent"] == f"Customers who live in {city}." and city in campaign["summary"]
    assert (await vendor_stats(original))["too_large_calls"] >= 1  # the 100 kB limit was met, and adapted to
    async with aiohttp.ClientSession(base_url=original.url) as http:
        async with http.get("/api/logs") as r:  # the original read every log row, unfiltered
            logs = [row for row in await r.json() if row["campaignId"] == campaign["id"]]
    assert len(logs) == 1500
    assert {
        "id",
        "campaignId",
        "customerId",
        "customer_name",
        "email",
        "phone",
        "personalized_msg",
        "status",
        "delivered_at",
        "createdAt",
    } <= set(logs[0])


async def test_unpaged_reads_return_every_match_up_to_the_cap(original):
    city = f"Big-{uuid.uuid4().hex[:6]}"
    rule_group = {"combinator": "AND", "rules": [{"attribute": "city", "operator": "=", "value": city}]}
    async with aiohttp.ClientSession(base_url=original.url) as http:
        for start in range(0, 3000, 1000):
            bulk = [
                {"name": f"Person {i}", "email": f"{city}.{i}@example.com", "city": city}
                for i in range(start, start + 1000)
            ]
            async with http.post("/api/customers", json=bulk) as r:
                assert r.status == 202

        async def everyone():
            async with http.post("/api/customers/get", json=rule_group) as r:
                rows = await r.json()
                return (rows, r.headers) if len(rows) == 3000 else None

        rows, headers = await eventually(everyone)
        assert headers["X-Total-Count"] == "3000" and "X-Result-Capped" not in headers
        assert len({r["id"] for r in rows}) == 3000
        async with http.post("/api/customers/get", json=rule_group, params={"limit": "10"}) as r:
            assert len(await r.json()) == 10  # paging stays opt-in
    async with original.extra_web(MINICRM_UNPAGED_CAP="1000") as (url, _):
        async with aiohttp.ClientSession(base_url=url) as http:
            async with http.post("/api/customers/get", json=rule_group) as r:
                capped = await r.json()
                assert r.headers["X-Result-Capped"] == "1000" and r.headers["X-Total-Count"] == "3000"
    assert [c["id"] for c in capped] == [c["id"] for c in rows[:1000]]
