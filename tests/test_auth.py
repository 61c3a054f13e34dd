"""Sign-in, sessions, ownership and the open mode, against the real edge."""

from __future__ import annotations

import asyncio
import base64
import sys
import time
import uuid

import aiohttp
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from minicrm import sessions

pytestmark = pytest.mark.integration
CLIENT_ID = "test-client.apps.googleusercontent.com"


def _b64(n: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


class KeyServer:
    """Google's key server as far as the edge can tell: a JWKS document on localhost."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = self.key.public_key().public_numbers()
        self.jwks = {
            "keys": [
                {"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig", "n": _b64(numbers.n), "e": _b64(numbers.e)}
            ]
        }
        self.fetches = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.fetches += 1
        return web.json_response(self.jwks, headers={"Cache-Control": "public, max-age=3600"})

    def token(self, key=None, kid="k1", **claims) -> str:
        now = int(time.time())
        body = {
            "iss": "https://accounts.google.com",
            "aud": CLIENT_ID,
            "sub": f"g-{uuid.uuid4().hex[:8]}",
            "email": "ann@example.com",
            "name": "Ann",
            "picture": "https://example.com/a.png",
            "iat": now,
            "exp": now + 600,
            **claims,
        }
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture(scope="module")
async def google(pipeline):
    server = KeyServer()
    app = web.Application()
    app.router.add_get("/certs", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    # A second edge of the same deployment, configured for Google sign-in and the trusted caller.
    async with pipeline.extra_web(
        MINICRM_GOOGLE_CLIENT_ID=CLIENT_ID,
        MINICRM_GOOGLE_CERTS_URL=f"http://127.0.0.1:{port}/certs",
        MINICRM_TRUSTED_CALLER_SECRET="trusted-secret",
        MINICRM_AUTH_ATTEMPTS_PER_MINUTE="1000",
    ) as (url, _):
        yield server, url
    await runner.cleanup()


async def sign_in(url: str, body: dict, headers: dict | None = None) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as s, s.post(f"{url}/api/auth", json=body, headers=headers or {}) as r:
        return r.status, await r.json()


async def test_a_valid_google_token_signs_in(google):
    server, url = google
    status, body = await sign_in(url, {"credential": server.token(sub="google-123")})
    assert status == 200, body
    assert body["user"]["googleId"] == "google-123" and body["user"]["email"] == "ann@example.com"
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{url}/api/auth", headers={"Authorization": f"Bearer {body['token']}"}) as r:
            assert r.status == 200
            assert (await r.json())["id"] == body["user"]["id"]
    again = await sign_in(url, {"idToken": server.token(sub="google-123", name="Ann B")})
    assert again[1]["user"]["id"] == body["user"]["id"] and again[1]["user"]["name"] == "Ann B"


@pytest.mark.parametrize(
    "change",
    [
        {"aud": "someone-else.apps.googleusercontent.com"},
        {"iss": "https://evil.example.com"},
        {"exp": int(time.time()) - 60},
        {"signed_by_other_key": True},
        {"kid": "unknown"},
        {"alg_none": True},
        {"missing_iat": True},
    ],
    ids=["wrong-aud", "wrong-iss", "expired", "bad-signature", "unknown-kid", "alg-none", "no-iat"],
)
async def test_bad_google_tokens_get_401(google, change):
    server, url = google
    if change.get("alg_none"):
        token = jwt.encode(
            {
                "iss": "accounts.google.com",
                "aud": CLIENT_ID,
                "sub": "x",
                "iat": int(time.time()),
                "exp": int(time.time()) + 60,
            },
            None,
            algorithm="none",
            headers={"kid": "k1"},
        )
    elif change.get("signed_by_other_key"):
        token = server.token(key=server.other)
    elif "kid" in change:
        token = server.token(kid=change["kid"])
    elif change.get("missing_iat"):
        token = server.token(iat=None)
        token = jwt.encode(
            {k: v for k, v in jwt.decode(token, options={"verify_signature": False}).items() if v is not None},
            server.key,
            algorithm="RS256",
            headers={"kid": "k1"},
        )
    else:
        token = server.token(**change)
    status, body = await sign_in(url, {"credential": token})
    assert status == 401, body
    assert body["error"] == "unauthorized"


async def test_google_keys_are_cached(google):
    server, url = google
    before = server.fetches
    for _ in range(3):
        assert (await sign_in(url, {"credential": server.token()}))[0] == 200
    assert server.fetches == before  # fetched once for the module, then served from the cache


async def test_login_keys(pipeline, google):
    _, url = google
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "minicrm.cli",
        "issue-key",
        "--email",
        "robot@example.com",
        env=pipeline.env,
        stdout=-1,
        stderr=-1,
    )
    out, _ = await proc.communicate()
    key = out.decode().strip().splitlines()[-1]
    status, body = await sign_in(url, {"uuid": key})
    assert status == 200 and body["user"]["email"] == "robot@example.com"
    conn = await pipeline.db()
    try:
        stored = await conn.fetchval(
            "SELECT key_hash FROM login_keys WHERE user_id = $1", uuid.UUID(body["user"]["id"])
        )
        assert stored != key and len(stored) == 64  # only its hash is kept
    finally:
        await conn.close()
    assert (await sign_in(url, {"uuid": str(uuid.uuid4())}))[0] == 401
    assert (await sign_in(url, {"uuid": "not-a-uuid"}))[0] == 400


async def test_trusted_caller_only_with_the_secret(google):
    _, url = google
    body = {"gId": "g-original", "name": "Old Frontend", "email": "old@example.com", "avatar": "x"}
    assert (await sign_in(url, body))[0] == 401
    assert (await sign_in(url, body, {"X-MiniCRM-Secret": "wrong"}))[0] == 401
    status, answer = await sign_in(url, body, {"X-MiniCRM-Secret": "trusted-secret"})
    assert status == 200 and answer["user"]["googleId"] == "g-original"


async def test_sign_in_is_rate_limited(pipeline):
    async with pipeline.extra_web(MINICRM_AUTH_ATTEMPTS_PER_MINUTE="5") as (url, _):
        codes = [(await sign_in(url, {"uuid": str(uuid.uuid4())}))[0] for _ in range(8)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429] * 3


async def test_sessions_are_required_and_checked(pipeline, user):
    expired = sessions.issue(user[0], pipeline.settings.session_secret, ttl_seconds=-10)
    forged = sessions.issue(user[0], "not-the-secret-but-just-as-long-as-one", 3600)
    async with aiohttp.ClientSession(base_url=pipeline.url) as s:
        for headers in (
            {},
            {"Authorization": "Bearer nonsense"},
            {"Authorization": f"Bearer {expired}"},
            {"Authorization": f"Bearer {forged}"},
            {"Authorization": user[1]},
        ):
            for method, path in (
                ("GET", "/api/auth"),
                ("GET", "/api/orders"),
                ("POST", "/api/customers/get"),
                ("POST", "/api/campaigns/get"),
                ("GET", "/api/logs"),
                ("POST", "/api/ai/dynamic"),
            ):
                async with s.request(method, path, json={}, headers=headers) as r:
                    assert r.status == 401, (method, path, headers)
        async with s.get("/healthz") as r:
            assert r.status == 200
        async with s.get("/api/auth", headers={"Authorization": f"Bearer {user[1]}"}) as r:
            me = await r.json()
        assert me["id"] == user[0] and set(me) == {
            "id",
            "googleId",
            "email",
            "name",
            "avatar",
            "role",
            "createdAt",
            "updatedAt",
        }


async def test_users_see_only_their_own_campaigns(pipeline, http, user):
    other_id, other_token = await pipeline.new_user()
    async with http.post(
        "/api/campaigns",
        json={
            "userId": other_id,
            "name": "mine",
            "message": "Hi {{name}}",
            "ruleGroup": {"rules": [{"attribute": "city", "operator": "=", "value": "Nowhere-x"}]},
            "status": "COMPLETED",
            "sent_count": 99,
            "summary": "fake",
        },
    ) as r:
        assert r.status == 201
        cid = (await r.json())["campaignId"]

    async def mine():
        async with http.post("/api/campaigns/get", json={"campaignId": cid}) as r:
            return await r.json() if r.status == 200 else None

    from support.deployment import eventually

    campaign = await eventually(mine)
    assert campaign["userId"] == user[0]  # the owner is the session's user, not the body's
    assert campaign["sent_count"] == 0 and campaign["summary"] != "fake"  # counters are not the client's
    async with aiohttp.ClientSession(base_url=pipeline.url, headers={"Authorization": f"Bearer {other_token}"}) as s:
        async with s.post("/api/campaigns/get", json={"campaignId": cid}) as r:
            assert r.status == 404
            assert cid in (await r.json())["detail"]  # the id they asked for, nothing more
        async with s.get("/api/logs", params={"campaignId": cid}) as r:
            assert r.status == 404
        async with s.get("/api/logs") as r:
            assert r.status == 200 and all(row["campaignId"] != cid for row in await r.json())
        for body in ({}, {"userId": user[0]}):
            async with s.post("/api/campaigns/get", json=body) as r:
                assert all(c["id"] != cid for c in await r.json())
        async with s.post("/api/campaigns/get", json={"campaignId": str(uuid.uuid4())}) as r:
            assert r.status == 404  # the same answer as for a campaign that exists


async def test_open_mode_serves_the_original_clients(pipeline):
    async with pipeline.extra_web(MINICRM_OPEN_MODE="1") as (url, proc):
        assert "OPEN MODE" in proc.text()
        async with aiohttp.ClientSession(base_url=url) as s:
            async with s.post("/api/campaigns/get", json={}) as r:
                assert r.status == 200
            async with s.post("/api/campaigns", json={"name": "n", "message": "Hi", "ruleGroup": {}}) as r:
                assert r.status == 400 and "userId" in await r.text()  # no session: the body names the user
            async with s.post("/api/receipts", json=[]) as r:
                assert r.status == 400  # unsigned receipts are read (and this empty array refused)
