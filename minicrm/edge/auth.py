"""`POST /api/auth` (sign in), `GET /api/auth` (who am I), and the session and role check on every
other route (each route's role is in the route table, `minicrm/edge/routes.py`).

Three ways in, each giving a signed session token and the user:
- `{credential}` (or `{idToken}`): a Google ID token, verified against Google's keys;
- `{uuid}`: a login key issued with `minicrm issue-key` (stored hashed);
- `{gId, name, email, avatar}`: the original frontend's server-side call, only with the
  configured shared secret in `X-MiniCRM-Secret`.

A user is a marketer or an operator (`minicrm/roles.py`); the role is read from the database
(kept `MINICRM_ROLE_CACHE_SECONDS`), not from the token, so sessions issued before roles existed
keep working and a changed role holds without signing in again.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
import uuid
from typing import Any

import asyncpg
from aiohttp import web
from pydantic import Field

from minicrm import google_tokens, roles, sessions, sql
from minicrm.edge.errors import Forbidden, InvalidInput, TooManyRequests, Unauthorized
from minicrm.edge.requests import read_json, validate_one
from minicrm.edge.responses import json_response
from minicrm.edge.schemas import Body
from minicrm.edge.state import AUTH, POOL, ROUTE_ROLES, SETTINGS
from minicrm.ratelimit import TokenBucket
from minicrm.settings import Settings

log = logging.getLogger(__name__)
USER_KEY = web.RequestKey("user_id", str)
ROLE_KEY = web.RequestKey("role", str)


class Auth:
    """What the auth views share: the session key, Google's keys and the per-address limiter."""

    def __init__(self, settings: Settings, session_secret: str) -> None:
        self.settings = settings
        self.session_secret = session_secret
        self.google_keys = google_tokens.GoogleKeys(settings.google_certs_url)
        self.buckets: dict[str, TokenBucket] = {}
        self.roles: dict[str, tuple[float, str]] = {}  # user id: (read at, role)

    def allow(self, address: str) -> bool:
        if len(self.buckets) > 100_000:
            self.buckets.clear()
        rate = self.settings.auth_attempts_per_minute
        bucket = self.buckets.setdefault(address, TokenBucket(rate / 60, burst=rate))
        return bucket.wait_time() == 0.0

    async def role(self, pool: asyncpg.Pool, user_id: str) -> str:
        """The user's role, read again after `role_cache_seconds`; a session of a user not in the
        table (a script's, signed with the key) is a marketer's."""
        now = time.monotonic()
        cached = self.roles.get(user_id)
        if cached and now - cached[0] < self.settings.role_cache_seconds:
            return cached[1]
        try:
            role = await sql.users.role(pool, uuid.UUID(user_id))
        except ValueError:
            role = None
        if len(self.roles) > 100_000:
            self.roles.clear()
        self.roles[user_id] = (now, role or roles.MARKETER)
        return role or roles.MARKETER


class GoogleLogin(Body):
    credential: str = Field(min_length=10, max_length=8192)


class KeyLogin(Body):
    uuid: uuid.UUID


class TrustedLogin(Body):
    gId: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    name: str | None = Field(default=None, max_length=200)
    avatar: str | None = Field(default=None, max_length=2000)


def key_hash(key: uuid.UUID) -> str:
    return hashlib.sha256(str(key).encode()).hexdigest()


async def issue_login_key(pool: asyncpg.Pool, email: str, name: str, operator: bool = False) -> tuple[str, uuid.UUID]:
    """Creates (or reuses) the user with this email and a new login key; the key is shown once.
    With `operator` the user becomes an operator (a key issued without it lowers no one)."""
    async with pool.acquire() as conn, conn.transaction():
        user_id = await sql.users.id_by_email(conn, email) or uuid.uuid4()
        await sql.users.create_key_user(conn, user_id, email, name)
        if operator:
            await sql.users.make_operator(conn, user_id)
        key = uuid.uuid4()
        await sql.users.insert_login_key(conn, key_hash(key), user_id)
    return str(user_id), key


async def _with_role(request: web.Request, user: asyncpg.Record) -> asyncpg.Record:
    """The user, made an operator first if MINICRM_OPERATOR_EMAILS names their email."""
    if user["role"] == roles.OPERATOR or not request.app[SETTINGS].is_operator_email(user["email"]):
        return user
    db = request.app[POOL]
    await sql.users.make_operator(db, user["id"])
    return await sql.users.by_id(db, user["id"])


async def _user(request: web.Request, body: dict[str, Any]) -> asyncpg.Record:
    auth, db = request.app[AUTH], request.app[POOL]
    if "credential" in body or "idToken" in body:
        login = validate_one(GoogleLogin, {"credential": body.get("credential") or body.get("idToken")})
        try:
            claims = await google_tokens.verify(login.credential, auth.google_keys, auth.settings.google_client_id)
        except google_tokens.TokenError as exc:
            raise Unauthorized(str(exc)) from None
        return await sql.users.upsert_google_user(
            db, uuid.uuid4(), claims["sub"], claims.get("email"), claims.get("name"), claims.get("picture")
        )
    if "uuid" in body:
        key = validate_one(KeyLogin, body)
        user = await sql.users.by_login_key(db, key_hash(key.uuid))
        if user is None:
            raise Unauthorized("unknown login key")
        return user
    if "gId" in body:
        trusted = validate_one(TrustedLogin, body)
        secret = auth.settings.trusted_caller_secret
        given = request.headers.get("X-MiniCRM-Secret", "")
        if not secret or not hmac.compare_digest(secret.encode(), given.encode()):
            raise Unauthorized("the {gId, ...} sign-in is only for a trusted caller holding the shared secret")
        return await sql.users.upsert_google_user(
            db, uuid.uuid4(), trusted.gId, trusted.email, trusted.name, trusted.avatar
        )
    raise InvalidInput("expected {credential} (a Google ID token), {uuid} (a login key) or {gId, name, email, avatar}")


async def login(request: web.Request) -> web.Response:
    auth = request.app[AUTH]
    if not auth.allow(request.remote or "unknown"):
        raise TooManyRequests(
            "too many sign-in attempts from this address; try again in a minute", headers={"Retry-After": "60"}
        )
    body = await read_json(request)
    if not isinstance(body, dict):
        raise InvalidInput("expected a JSON object")
    user = dict(await _with_role(request, await _user(request, body)))
    token = sessions.issue(str(user["id"]), auth.session_secret, auth.settings.session_ttl)
    return json_response({"token": token, "user": user})


async def me(request: web.Request) -> web.Response:
    if request.app[SETTINGS].open_mode:
        raise InvalidInput("there are no users in open mode")
    user = await sql.users.by_id(request.app[POOL], uuid.UUID(request[USER_KEY]))
    if user is None:
        raise Unauthorized("the session's user no longer exists")
    return json_response(dict(user))


def current_user(request: web.Request) -> str | None:
    """The signed-in user's id, or None in open mode."""
    return request.get(USER_KEY)


def scope(request: web.Request) -> str | None:
    """Whose campaigns and journeys the caller reads and acts on: their own (their id), or
    everyone's (None) for an operator and in open mode."""
    user = request.get(USER_KEY)
    return None if user is None or roles.sees_everyone(request[ROLE_KEY]) else user


def route_role(request: web.Request) -> str | None:
    """The role of the route the request matched (the route table's), None for no route."""
    resource = request.match_info.route.resource
    method = "GET" if request.method == "HEAD" else request.method
    return request.app[ROUTE_ROLES].get((method, resource.canonical)) if resource else None


@web.middleware
async def session_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    needed = route_role(request)
    if request.app[SETTINGS].open_mode or needed == roles.PUBLIC:
        return await handler(request)
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Unauthorized(
            "sign in with POST /api/auth and send Authorization: Bearer <token>", headers={"WWW-Authenticate": "Bearer"}
        )
    try:
        request[USER_KEY] = sessions.verify(header.removeprefix("Bearer ").strip(), request.app[AUTH].session_secret)
    except sessions.SessionError as exc:
        raise Unauthorized(str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
    request[ROLE_KEY] = await request.app[AUTH].role(request.app[POOL], request[USER_KEY])
    if needed is not None and not roles.allows(request[ROLE_KEY], needed):
        raise Forbidden(f"{request.method} {request.path} is for {needed}s; you are a {request[ROLE_KEY]}")
    return await handler(request)
