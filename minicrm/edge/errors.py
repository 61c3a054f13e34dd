"""Errors the edge turns into JSON `{"error", "detail"}` responses, and the middleware that does it."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from minicrm.edge.responses import json_response
from minicrm.outages import TRANSIENT
from minicrm.sql import NotFound

log = logging.getLogger(__name__)


class ApiError(Exception):
    status = 400
    error = "bad request"

    def __init__(self, detail: Any = None, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers


class InvalidInput(ApiError):
    status, error = 400, "invalid request"


class Unauthorized(ApiError):
    status, error = 401, "unauthorized"


class Forbidden(ApiError):
    status, error = 403, "forbidden"


class Conflict(ApiError):
    status, error = 409, "conflict"


class PayloadTooLarge(ApiError):
    status, error = 413, "payload too large"


class UnsupportedMediaType(ApiError):
    status, error = 415, "unsupported media type"


class TooManyRequests(ApiError):
    status, error = 429, "too many requests"


class Unavailable(ApiError):
    status, error = 503, "service unavailable"


@web.middleware
async def error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return json_response({"error": exc.error, "detail": exc.detail}, status=exc.status, headers=exc.headers)
    except NotFound as exc:
        return json_response({"error": "not found", "detail": str(exc)}, status=404)
    except TRANSIENT as exc:  # a database outage on a read or a check: 503, as a Kafka outage on a write
        log.warning("%s %s: database unavailable (%r)", request.method, request.path, exc)
        return json_response(
            {"error": "service unavailable", "detail": "the database is unavailable; retry shortly"},
            status=503,
            headers={"Retry-After": "1"},
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None  # a 405 says what is allowed
        return json_response({"error": exc.reason.lower(), "detail": exc.text}, status=exc.status, headers=allow)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_response({"error": "internal error", "detail": None}, status=500)
