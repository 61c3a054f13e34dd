"""The Gemini provider: the real google-genai client against a local server that speaks the
generateContent REST API, and the fallback to the local provider on every kind of failure."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import orjson
import pytest
from aiohttp import web

from minicrm.ai.service import AI
from minicrm.settings import Settings

TIMEOUT = 1.5
TREE = {"combinator": "AND", "rules": [{"attribute": "total_spend", "operator": ">", "value": "5000"}]}


class FakeGemini:
    """Answers generateContent with whatever the test sets in `reply`."""

    def __init__(self) -> None:
        self.reply: tuple[int, object] = (200, {})
        self.requests: list[dict] = []

    async def handle(self, request: web.Request) -> web.Response:
        assert request.path.endswith("/models/gemini-test:generateContent"), request.path
        assert request.headers.get("x-goog-api-key") == "test-key"
        self.requests.append(await request.json())
        status, body = self.reply
        if body == "hang":
            await asyncio.sleep(TIMEOUT * 3)
        if status != 200:
            return web.json_response(
                {"error": {"code": status, "message": "nope", "status": "UNAVAILABLE"}}, status=status
            )
        text = body if isinstance(body, str) else orjson.dumps(body).decode()
        return web.json_response(
            {
                "candidates": [
                    {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}
                ],
                "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2},
            }
        )


@pytest.fixture
async def gemini():
    fake = FakeGemini()
    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    settings = dataclasses.replace(
        Settings(),
        gemini_api_key="test-key",
        gemini_model="gemini-test",
        gemini_base_url=f"http://127.0.0.1:{port}/",
        ai_timeout=TIMEOUT,
    )
    yield fake, AI(settings)
    await runner.cleanup()


async def test_a_good_answer_is_used(gemini):
    fake, ai = gemini
    fake.reply = (200, {"intent": "Big spenders."})
    assert await ai.intent(TREE) == "Big spenders."
    config = fake.requests[0]["generationConfig"]
    assert config["responseMimeType"] == "application/json" and "responseSchema" in config
    fake.reply = (200, {"suggestions": ["Hi {{name}}!", "Hello from {{city}}", "Mail to {{email}}"]})
    assert await ai.suggestions("Sale", "sell") == ["Hi {{name}}!", "Hello from {{city}}", "Mail to {{email}}"]
    fake.reply = (
        200,
        {
            "combinator": "or",
            "rules": [
                {"combinator": "AND", "rules": [{"attribute": "visit", "operator": ">", "value": "2"}]},
                {"attribute": "city", "operator": "=", "value": "Pune"},
            ],
        },
    )
    group = await ai.rule_group("Pune or frequent visitors")
    assert group["combinator"] == "OR" and group["id"] == "group-root"
    assert [("combinator" in r) for r in group["rules"]] == [False, True]  # simple rules first
    ids = [group["id"], *(r["id"] for r in group["rules"]), group["rules"][1]["rules"][0]["id"]]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    "reply",
    [
        (200, "{not json"),
        (200, {"suggestions": ["Hi {{name}}", "Your {{password}} is ready", "Bye"]}),
        (200, {"suggestions": ["only one"]}),
        (429, None),
        (500, None),
        (200, "hang"),
    ],
    ids=["malformed-json", "foreign-placeholder", "wrong-count", "429", "500", "hang"],
)
async def test_failures_fall_back_to_the_local_provider_in_time(gemini, reply):
    fake, ai = gemini
    fake.reply = reply
    start = time.monotonic()
    suggestions = await ai.suggestions("Diwali Sale", "20% off sweets")
    assert time.monotonic() - start < TIMEOUT + 1.0
    assert len(suggestions) == 3 and all("Diwali" in s or "sweets" in s for s in suggestions)
    assert len(fake.requests) == 1  # asked once: no retry burns the quota


async def test_a_model_rule_group_passes_the_users_validation(gemini):
    fake, ai = gemini
    fake.reply = (200, {"combinator": "AND", "rules": [{"attribute": "password", "operator": "=", "value": "x"}]})
    group = await ai.rule_group("customers in Mumbai")  # rejected, so the local provider answers
    assert group["rules"] == [{"id": "rule-1", "attribute": "city", "operator": "=", "value": "Mumbai"}]
    fake.reply = (
        200,
        {
            "combinator": "AND",
            "rules": [{"attribute": "total_spend", "operator": ">", "value": "1; DROP TABLE customers"}],
        },
    )
    group = await ai.rule_group("spent over 5000")
    assert group["rules"][0]["value"] == "5000"


async def test_summary_and_intent_fall_back_too(gemini):
    fake, ai = gemini
    fake.reply = (500, None)
    assert await ai.intent(TREE) == "Customers who spent more than ₹5,000."
    fake.reply = (200, {"summary": ""})
    stats = {
        "audience_size": 1,
        "sent": 1,
        "failed": 0,
        "delivery_rate": 1.0,
        "duration_seconds": 1.0,
        "by_spend_band": [],
        "by_city": [],
    }
    assert (await ai.summary("X", stats)).startswith('Campaign "X" reached 1 customer, and the message was delivered')
