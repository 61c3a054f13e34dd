"""Verifying Google ID tokens: signature against Google's published keys (cached), `aud`
equal to our client id (never skipped), `iss`, `exp` and `iat`."""

from __future__ import annotations

import re
import time
from typing import Any

import aiohttp
import jwt

ISSUERS = ("accounts.google.com", "https://accounts.google.com")
DEFAULT_MAX_AGE = 3600


class TokenError(Exception):
    """The ID token cannot be trusted."""


class GoogleKeys:
    """Google's signing keys, fetched when unknown or expired (Cache-Control max-age)."""

    def __init__(self, certs_url: str) -> None:
        self.certs_url = certs_url
        self.keys: dict[str, jwt.PyJWK] = {}
        self.expires = 0.0

    async def get(self, kid: str) -> jwt.PyJWK:
        if kid not in self.keys or time.monotonic() > self.expires:
            await self.refresh()
        if kid not in self.keys:
            raise TokenError(f"unknown signing key {kid!r}")
        return self.keys[kid]

    async def refresh(self) -> None:
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
                async with session.get(self.certs_url) as response:
                    response.raise_for_status()
                    body = await response.json(content_type=None)
                    max_age = re.search(r"max-age=(\d+)", response.headers.get("Cache-Control", ""))
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise TokenError(f"could not fetch Google's keys: {exc}") from None
        self.keys = {k["kid"]: jwt.PyJWK(k) for k in body.get("keys", []) if k.get("kid")}
        self.expires = time.monotonic() + (int(max_age.group(1)) if max_age else DEFAULT_MAX_AGE)


async def verify(token: str, keys: GoogleKeys, client_id: str) -> dict[str, Any]:
    """The token's claims if Google signed it for `client_id`; raises TokenError otherwise."""
    if not client_id:
        raise TokenError("Google sign-in is not configured (MINICRM_GOOGLE_CLIENT_ID)")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenError(f"malformed ID token: {exc}") from None
    if header.get("alg") != "RS256":
        raise TokenError(f"ID token algorithm {header.get('alg')!r} is not RS256")
    key = await keys.get(str(header.get("kid")))
    try:
        claims = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience=client_id,
            options={"require": ["iss", "aud", "exp", "iat", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise TokenError(f"ID token rejected: {exc}") from None
    if claims["iss"] not in ISSUERS:
        raise TokenError(f"ID token issuer {claims['iss']!r} is not Google")
    return claims
