"""Bad input gets a clear 4xx naming what is wrong, and nothing reaches Kafka."""

from __future__ import annotations

import orjson
import pytest

pytestmark = pytest.mark.integration

GOOD_CUSTOMER = {"name": "Good Name", "email": "good@example.com"}
GOOD_ORDER = {
    "id": "o1",
    "customerId": "5f1d7e2a-8c2b-4f7e-9a51-6b0c3d2e1f00",
    "amount": 20,
    "status": "COMPLETED",
    "items": [{"name": "x", "quantity": 2, "unitPrice": 10, "total": 20}],
}
CAMPAIGN = {"userId": "u1", "name": "n", "message": "Hi {{name}}", "ruleGroup": {}}

VARIANT = {"name": "A", "message": "Hi {{name}}"}
CASES = [
    ("/api/customers", b"{not json", 400, "malformed JSON"),
    ("/api/customers", b"", 400, "empty"),
    ("/api/customers", b"[]", 400, "non-empty array"),
    ("/api/customers", b"42", 400, "expected a JSON object"),
    ("/api/customers", orjson.dumps([GOOD_CUSTOMER, {"name": "X", "email": "bad"}]), 400, '"item":1'),
    ("/api/customers", orjson.dumps([GOOD_CUSTOMER, {"email": "a@b.co", "name": 5}]), 400, '"field":"name"'),
    ("/api/customers", orjson.dumps([{**GOOD_CUSTOMER, "phone": "12345"}]), 400, "10 digits"),
    ("/api/customers", orjson.dumps([GOOD_CUSTOMER] * 100_000), 413, "at most"),
    ("/api/customers", orjson.dumps([{**GOOD_CUSTOMER, "name": "x" * 150}] * 60_000), 413, "too large"),
    ("/api/orders", orjson.dumps({**GOOD_ORDER, "status": "SHIPPED"}), 400, '"field":"status"'),
    ("/api/orders", orjson.dumps({**GOOD_ORDER, "amount": 25}), 400, "does not match"),
    ("/api/orders", orjson.dumps({**GOOD_ORDER, "customerId": "nope"}), 400, '"field":"customerId"'),
    ("/api/orders", orjson.dumps({k: v for k, v in GOOD_ORDER.items() if k != "id"}), 400, '"field":"id"'),
    (
        "/api/orders",
        orjson.dumps({**GOOD_ORDER, "items": [{"name": "x", "quantity": 2, "unitPrice": 10, "total": 21}]}),
        400,
        "quantity x unitPrice",
    ),
    (
        "/api/customers/get",
        orjson.dumps({"rules": [{"attribute": "age", "operator": ">", "value": "1"}]}),
        400,
        "unknown attribute",
    ),
    (
        "/api/customers/get",
        orjson.dumps({"rules": [{"attribute": "visit", "operator": ">", "value": "1; DROP"}]}),
        400,
        "must be a number",
    ),
    ("/api/campaigns", orjson.dumps({**CAMPAIGN, "message": "Hi {{surname}}"}), 400, "unknown placeholder"),
    (
        "/api/campaigns",
        orjson.dumps({**CAMPAIGN, "ruleGroup": {"combinator": "XOR", "rules": []}}),
        400,
        "unknown combinator",
    ),
    ("/api/campaigns", orjson.dumps({k: v for k, v in CAMPAIGN.items() if k != "name"}), 400, '"field":"name"'),
    ("/api/campaigns", orjson.dumps({**CAMPAIGN, "holdoutPercent": 60}), 400, '"field":"holdoutPercent"'),
    ("/api/campaigns", orjson.dumps({**CAMPAIGN, "attributionDays": 0}), 400, '"field":"attributionDays"'),
    ("/api/campaigns", orjson.dumps({**CAMPAIGN, "variants": [VARIANT]}), 400, '"field":"variants"'),
    ("/api/campaigns", orjson.dumps({**CAMPAIGN, "variants": [VARIANT, VARIANT]}), 400, "different names"),
    (
        "/api/campaigns",
        orjson.dumps({**CAMPAIGN, "variants": [VARIANT, {**VARIANT, "name": "B"}], "weights": [1, 2, 3]}),
        400,
        "one number per variant",
    ),
    (
        "/api/campaigns",
        orjson.dumps(
            {**CAMPAIGN, "abTest": {"testPercent": 20, "metric": "conversion_rate", "decideAfterSeconds": 60}}
        ),
        400,
        "abTest needs variants",
    ),
    ("/api/campaigns/get", orjson.dumps({"campaignId": "not-a-uuid"}), 400, "UUID"),
    ("/api/receipts", orjson.dumps([{"commId": "x", "campaignId": "y", "status": "SENT"}]), 401, "missing"),
    ("/api/ai/campaign", orjson.dumps({"campaignName": "Sale"}), 400, "campaignObjective"),
    ("/api/ai/dynamic", orjson.dumps({}), 400, '"field":"query"'),
    ("/api/ai/dynamic", orjson.dumps({"query": "make it pop"}), 422, "could not turn"),
]


@pytest.mark.parametrize("path, body, status, words", CASES, ids=[f"{c[0]}:{c[3]}" for c in CASES])
async def test_bad_input_is_rejected_and_publishes_nothing(pipeline, http, path, body, status, words):
    before = await pipeline.edge_offsets()
    async with http.post(path, data=body, headers={"Content-Type": "application/json"}) as r:
        text = await r.text()
        assert r.status == status, text
        assert words in text
        payload = orjson.loads(text)
        assert set(payload) == {"error", "detail"}
    assert await pipeline.edge_offsets() == before


async def test_bad_query_strings(http):
    for params, words in [
        ({"limit": "0"}, "between 1"),
        ({"limit": "x"}, "whole numbers"),
        ({"status": "LOST"}, "status must be"),
        ({"campaignId": "1"}, "UUID"),
        ({"limit": "100000"}, "between 1"),
    ]:
        async with http.get("/api/logs", params=params) as r:
            assert r.status == 400 and words in await r.text()


async def test_unknown_route_is_json_404(http):
    async with http.get("/api/nothing") as r:
        assert r.status == 404
        assert (await r.json())["error"] == "not found"


async def test_ai_endpoints_answer(http):
    async with http.post("/api/ai/campaign", json={"campaignName": "Diwali", "campaignObjective": "20% off"}) as r:
        answer = await r.json()
        assert r.status == 200 and len(answer["suggestions"]) == 3
    variants = answer["variants"]  # ready to be a campaign's variants
    assert [v["name"] for v in variants] == ["A", "B", "C"] and [v["message"] for v in variants] == answer[
        "suggestions"
    ]
    body = {"name": "Diwali", "ruleGroup": {}, "variants": variants, "sendAt": "2099-01-01T00:00:00+00:00"}
    async with http.post("/api/campaigns", json=body) as r:
        assert r.status == 201, await r.text()
    async with http.post("/api/ai/dynamic", json={"query": "customers in Pune who spent over 5k"}) as r:
        group = (await r.json())["ruleGroup"]
    assert group["id"] == "group-root" and {x["attribute"] for x in group["rules"]} == {"city", "total_spend"}
