"""Signed webhooks in the manner of the Standard Webhooks spec.

The signature is `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<raw body>">` in the
`webhook-signature` header; secrets are `whsec_<base64 key>`. Several secrets verify at
once (rotation), comparison is constant-time, and a timestamp outside the tolerance fails.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Mapping, Sequence

TOLERANCE_SECONDS = 300


class SignatureError(Exception):
    """The request is unsigned, badly signed, or signed too long ago."""


def _key(secret: str) -> bytes:
    raw = secret.removeprefix("whsec_")
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError:
        raise ValueError("webhook secrets must be whsec_ followed by base64") from None


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def sign(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """Headers for a signed request."""
    msg_id = f"msg_{uuid.uuid4().hex}"
    timestamp = int(now if now is not None else time.time())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, msg_id, timestamp, body),
    }


def verify(secrets: Sequence[str], headers: Mapping[str, str], body: bytes, now: float | None = None) -> None:
    msg_id = headers.get("webhook-id")
    stamp = headers.get("webhook-timestamp")
    given = headers.get("webhook-signature")
    if not (msg_id and stamp and given):
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise SignatureError("webhook-timestamp is not a whole number of seconds") from None
    current = now if now is not None else time.time()
    if abs(current - timestamp) > TOLERANCE_SECONDS:
        raise SignatureError(f"webhook-timestamp is more than {TOLERANCE_SECONDS} s from now")
    candidates = given.split()
    for secret in secrets:
        expected = signature(secret, msg_id, timestamp, body)
        if any(hmac.compare_digest(expected, c) for c in candidates):
            return
    raise SignatureError("no signature matches")
