"""The edge's Prometheus metrics: every request counted and timed by route, and `GET /metrics`."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from minicrm import campaign_states as states
from minicrm import metrics, sql
from minicrm.edge.state import POOL


def route_of(request: web.Request) -> str:
    """The route's pattern (`/api/campaigns/{id}/pause`), so that ids do not make new series."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def metrics_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        route = route_of(request)
        metrics.HTTP_REQUESTS.labels(route, request.method, str(status)).inc()
        metrics.HTTP_SECONDS.labels(route, request.method).observe(time.perf_counter() - started)


async def serve(request: web.Request) -> web.Response:
    """`GET /metrics`: Prometheus's text format; campaigns by status are read now."""
    rows = {r["status"]: r for r in await sql.campaigns.by_status(request.app[POOL])}
    for status in states.STATUSES:
        row = rows.get(status)
        metrics.CAMPAIGNS.labels(status).set(row["campaigns"] if row else 0)
        metrics.CAMPAIGN_SENT.labels(status).set(row["sent"] if row else 0)
        metrics.CONVERSIONS.labels(status).set(row["conversions"] if row else 0)
        metrics.ATTRIBUTED_REVENUE.labels(status).set(float(row["revenue"]) if row else 0)
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})
