"""Roles against the real edge: every route of the route table called with no session, as the
marketer who owns the campaign and journey it names, as another marketer and as an operator,
each answer checked against what the route's role says; and how a user becomes an operator."""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import aiohttp
import pytest

from minicrm import roles, webhooks
from minicrm.edge.routes import ROUTES, Route
from support.deployment import eventually

pytestmark = pytest.mark.integration
CALLERS = ("nobody", "owner", "other marketer", "operator")
LATER = (datetime.now(UTC) + timedelta(days=30)).isoformat()
NOBODY = {"combinator": "AND", "rules": [{"attribute": "city", "operator": "=", "value": "Roles-Nowhere"}]}


def campaign_body(name: str) -> dict:
    return {"name": name, "message": "Hi {{name}}", "ruleGroup": NOBODY, "sendAt": LATER}


# A request for each route: (path with its ids filled, JSON body or None, query, whether the route
# names something of the owner's, so that another marketer must get 404). `c`: the owner's
# scheduled campaign, `j`: the owner's journey. A route missing here fails the matrix.
def samples(c: str, j: str, receipt_secret: str = "") -> dict[tuple[str, str], tuple[str, object, dict, bool]]:
    return {
        ("GET", "/healthz"): ("/healthz", None, {}, False),
        ("GET", "/readyz"): ("/readyz", None, {}, False),
        ("GET", "/metrics"): ("/metrics", None, {}, False),
        ("POST", "/api/customers"): ("/api/customers", {"name": "R", "email": "roles@example.com"}, {}, False),
        ("POST", "/api/customers/get"): ("/api/customers/get", NOBODY, {"limit": 1}, False),
        ("POST", "/api/orders"): ("/api/orders", [], {}, False),
        ("GET", "/api/orders"): ("/api/orders", None, {"limit": 1}, False),
        ("POST", "/api/campaigns"): ("/api/campaigns", campaign_body("matrix"), {}, False),
        ("POST", "/api/campaigns/get"): ("/api/campaigns/get", {"campaignId": c}, {}, True),
        ("PATCH", "/api/campaigns/{id}"): (f"/api/campaigns/{c}", {"sendAt": LATER}, {}, True),
        ("GET", "/api/campaigns/{id}/events"): (f"/api/campaigns/{c}/events", None, {}, True),
        ("POST", "/api/campaigns/{id}/pause"): (f"/api/campaigns/{c}/pause", None, {}, True),
        ("POST", "/api/campaigns/{id}/resume"): (f"/api/campaigns/{c}/resume", None, {}, True),
        ("POST", "/api/campaigns/{id}/cancel"): (f"/api/campaigns/{c}/cancel", None, {}, True),
        ("POST", "/api/campaigns/{id}/test"): (f"/api/campaigns/{c}/test", {"to": ["no@example.com"]}, {}, True),
        ("POST", "/api/campaigns/{id}/resend"): (f"/api/campaigns/{c}/resend", {"statuses": ["FAILED"]}, {}, True),
        ("POST", "/api/journeys"): ("/api/journeys", journey_body("matrix"), {}, False),
        ("GET", "/api/journeys"): ("/api/journeys", None, {}, False),
        ("GET", "/api/journeys/{id}"): (f"/api/journeys/{j}", None, {}, True),
        ("DELETE", "/api/journeys/{id}"): (f"/api/journeys/{j}", None, {}, True),
        ("POST", "/api/journeys/{id}/pause"): (f"/api/journeys/{j}/pause", None, {}, True),
        ("POST", "/api/journeys/{id}/resume"): (f"/api/journeys/{j}/resume", None, {}, True),
        ("POST", "/api/suppressions"): ("/api/suppressions", {"email": "matrix@example.com"}, {}, False),
        ("GET", "/api/suppressions"): ("/api/suppressions", None, {"limit": 1}, False),
        ("DELETE", "/api/suppressions/{email}"): ("/api/suppressions/matrix-kept@example.com", None, {}, False),
        ("GET", "/api/logs"): ("/api/logs", None, {"campaignId": c, "limit": 1}, True),
        ("POST", "/api/receipts"): ("/api/receipts", Signed(b"[]", receipt_secret), {}, False),
        ("GET", "/api/dead-letters"): ("/api/dead-letters", None, {"limit": 1}, False),
        ("POST", "/api/dead-letters/replay"): ("/api/dead-letters/replay", {"id": 2**40}, {}, False),
        ("GET", "/api/vendor-health"): ("/api/vendor-health", None, {}, False),
        ("POST", "/api/ai/campaign"): ("/api/ai/campaign", {"campaignName": "n", "campaignObjective": "x"}, {}, False),
        ("POST", "/api/ai/dynamic"): ("/api/ai/dynamic", {"query": "customers in Pune"}, {}, False),
        ("POST", "/api/auth"): ("/api/auth", {}, {}, False),
        ("GET", "/api/auth"): ("/api/auth", None, {}, False),
        ("GET", "/openapi.json"): ("/openapi.json", None, {}, False),
        ("GET", "/docs"): ("/docs", None, {}, False),
        ("GET", "/console"): ("/console", None, {}, False),
        ("GET", "/console/{file}"): ("/console/app.js", None, {}, False),
        ("GET", "/console/vendor/{file}"): ("/console/vendor/uPlot.min.css", None, {}, False),
    }


class Signed(NamedTuple):
    """A body signed as the vendor signs its receipts."""

    body: bytes
    secret: str

    def request(self) -> dict:
        return {"data": self.body, "headers": webhooks.sign(self.secret, self.body)}


def journey_body(name: str) -> dict:
    return {"name": name, "trigger": {"type": "enters_segment", "ruleGroup": NOBODY}, "message": "Hi {{name}}"}


def expected(route: Route, owned: bool, caller: str) -> int | None:
    """The refusal the caller must get (401, 403 or 404), or None: let through (any other answer)."""
    if route.role == roles.PUBLIC:
        return None
    if caller == "nobody":
        return 401
    if route.role == roles.OPERATOR and caller != "operator":
        return 403
    if owned and caller == "other marketer":
        return 404
    return None


@pytest.fixture(scope="module")
async def world(pipeline):
    """The callers' headers, the owner's campaign and journey, and a suppression to remove."""
    owner, other, operator = [await pipeline.new_user(role=r) for r in ("marketer", "marketer", "operator")]
    headers = {
        "nobody": {},
        "owner": {"Authorization": f"Bearer {owner[1]}"},
        "other marketer": {"Authorization": f"Bearer {other[1]}"},
        "operator": {"Authorization": f"Bearer {operator[1]}"},
    }
    async with aiohttp.ClientSession(base_url=pipeline.url, headers=headers["owner"]) as s:
        async with s.post("/api/campaigns", json=campaign_body("owned")) as r:
            assert r.status == 201, await r.text()
            campaign = (await r.json())["campaignId"]
        async with s.post("/api/journeys", json=journey_body("owned")) as r:
            assert r.status == 201, await r.text()
            journey = (await r.json())["journeyId"]
    async with aiohttp.ClientSession(base_url=pipeline.url, headers=headers["operator"]) as s:
        async with s.post("/api/suppressions", json={"email": "matrix-kept@example.com"}) as r:
            assert r.status == 201
    return headers, samples(campaign, journey, pipeline.settings.webhook_secrets[0])


def test_every_route_has_a_sample_and_a_known_role():
    table = samples("c", "j")
    missing = [(r.method, r.path) for r in ROUTES if (r.method, r.path) not in table]
    assert not missing, f"routes with no sample request in tests/test_roles.py: {missing}"
    assert all(r.role in roles.ROUTE_ROLES for r in ROUTES)
    assert len({(r.method, r.path) for r in ROUTES}) == len(ROUTES)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", ROUTES, ids=[f"{r.method} {r.path}" for r in ROUTES])
async def test_role_matrix(pipeline, world, route, caller):
    headers, table = world
    path, body, query, owned = table[(route.method, route.path)]
    async with aiohttp.ClientSession(base_url=pipeline.url, headers=headers[caller]) as s:
        kwargs = body.request() if isinstance(body, Signed) else {"json": body} if body is not None else {}
        async with s.request(route.method, path, params=query, **kwargs) as r:
            status = r.status  # a stream's first bytes are enough: the answer is closed here
    refusal = expected(route, owned, caller)
    if refusal is not None:
        assert status == refusal, f"{caller}: {route.method} {path} answered {status}, expected {refusal}"
    else:
        assert status not in (401, 403, 404) and status < 500, f"{caller}: {route.method} {path} answered {status}"


async def test_a_public_route_answers_the_same_whoever_calls(pipeline, world):
    headers, table = world
    async with aiohttp.ClientSession(base_url=pipeline.url) as s:
        for route in (r for r in ROUTES if r.role == roles.PUBLIC and r.method == "GET"):
            path, _, query, _ = table[(route.method, route.path)]
            answers = set()
            for caller in CALLERS:
                async with s.get(path, params=query, headers=headers[caller]) as r:
                    answers.add(r.status)
            assert len(answers) == 1, (path, answers)


async def test_an_operator_sees_and_acts_on_every_campaign(pipeline, world):
    headers, table = world
    campaign = table[("POST", "/api/campaigns/get")][1]["campaignId"]
    newest = {"limit": 1000}  # a page, as the console reads them: everyone's campaigns can be many
    async with aiohttp.ClientSession(base_url=pipeline.url, headers=headers["operator"]) as s:
        async with s.post("/api/campaigns/get", json={}, params=newest) as r:
            assert campaign in {c["id"] for c in await r.json()}
    async with aiohttp.ClientSession(base_url=pipeline.url, headers=headers["other marketer"]) as s:
        async with s.post("/api/campaigns/get", json={}, params=newest) as r:
            assert campaign not in {c["id"] for c in await r.json()}


async def sign_in(url: str, key: str) -> dict:
    async with aiohttp.ClientSession() as s, s.post(f"{url}/api/auth", json={"uuid": key}) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def test_issue_key_with_role_operator_makes_an_operator(pipeline):
    email = f"ops-{uuid.uuid4().hex[:8]}@example.com"

    async def issue(*extra: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "minicrm.cli", "issue-key", "--email", email, *extra,
            env=pipeline.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await proc.communicate()
        assert proc.returncode == 0, out.decode()
        return out.decode().strip().splitlines()[-1]

    assert (await sign_in(pipeline.url, await issue()))["user"]["role"] == "marketer"
    answer = await sign_in(pipeline.url, await issue("--role", "operator"))
    assert answer["user"]["role"] == "operator"
    assert (await sign_in(pipeline.url, await issue()))["user"]["role"] == "operator"  # a plain key lowers no one
    async with aiohttp.ClientSession(base_url=pipeline.url) as s:
        async with s.get("/api/dead-letters", headers={"Authorization": f"Bearer {answer['token']}"}) as r:
            assert r.status == 200


async def test_operator_emails_setting_and_a_role_change_hold_for_existing_sessions(pipeline, db_pool):
    from minicrm.edge.auth import issue_login_key

    email = f"lead-{uuid.uuid4().hex[:8]}@example.com"
    _, key = await issue_login_key(db_pool, email, "Lead")
    async with pipeline.extra_web(MINICRM_OPERATOR_EMAILS=f"someone@example.com, {email.upper()}") as (url, _):
        assert (await sign_in(url, str(key)))["user"]["role"] == "operator"

    # A session issued to a marketer who is made an operator in the database: no new sign-in needed.
    user_id, token = await pipeline.new_user()
    async with aiohttp.ClientSession(base_url=pipeline.url, headers={"Authorization": f"Bearer {token}"}) as s:
        async with s.get("/api/dead-letters") as r:
            assert r.status == 403
        await db_pool.execute("UPDATE users SET role = 'operator' WHERE id = $1", uuid.UUID(user_id))

        async def allowed() -> bool:
            async with s.get("/api/dead-letters") as r:
                return r.status == 200

        await eventually(allowed, timeout=15, interval=0.5)
