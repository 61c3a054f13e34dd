"""Session tokens: HS256-signed JWTs naming the user, with an expiry."""

from __future__ import annotations

import time

import jwt

ALGORITHM = "HS256"


class SessionError(Exception):
    """The token is missing, malformed, badly signed or expired."""


def issue(user_id: str, secret: str, ttl_seconds: int, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    return jwt.encode(
        {"sub": user_id, "iat": issued, "exp": issued + ttl_seconds, "typ": "session"}, secret, algorithm=ALGORITHM
    )


def verify(token: str, secret: str) -> str:
    """The user id in a valid token; raises SessionError otherwise."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp", "iat"]})
    except jwt.PyJWTError as exc:
        raise SessionError(f"invalid session token: {exc}") from None
    if claims.get("typ") != "session":
        raise SessionError("invalid session token: not a session")
    return str(claims["sub"])
