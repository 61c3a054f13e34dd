"""Every route of the edge, under `/api` as in the original system, each with its role.

`ROUTES` is the one table of the edge's routes: method, path, view, and who may call it
(`minicrm/roles.py`): `public` (no session), `marketer` (any signed-in user; their own campaigns
and journeys, an operator everyone's) or `operator`. The session middleware, the OpenAPI
document and the role-matrix test all read it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import NamedTuple

from aiohttp import web
from aiohttp.typedefs import Handler

from minicrm.edge import (
    ai,
    auth,
    campaign_controls,
    campaign_events,
    campaigns,
    console,
    customers,
    dead_letters,
    journeys,
    logs,
    monitoring,
    openapi,
    orders,
    probes,
    receipts,
    suppressions,
    vendor_health,
)
from minicrm.edge.state import ROUTE_ROLES
from minicrm.roles import MARKETER, OPERATOR, PUBLIC


class Route(NamedTuple):
    method: str
    path: str
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    role: str


ROUTES: tuple[Route, ...] = (
    Route("GET", "/healthz", probes.healthz, PUBLIC),
    Route("GET", "/readyz", probes.readyz, PUBLIC),
    Route("GET", "/metrics", monitoring.serve, PUBLIC),
    Route("POST", "/api/customers", customers.create, MARKETER),
    Route("POST", "/api/customers/get", customers.search, MARKETER),
    Route("POST", "/api/orders", orders.create, MARKETER),
    Route("GET", "/api/orders", orders.list_orders, MARKETER),
    Route("POST", "/api/campaigns", campaigns.create, MARKETER),
    Route("POST", "/api/campaigns/get", campaigns.get, MARKETER),
    Route("PATCH", "/api/campaigns/{id}", campaign_controls.reschedule, MARKETER),
    Route("GET", "/api/campaigns/{id}/events", campaign_events.events, MARKETER),
    Route("POST", "/api/campaigns/{id}/pause", campaign_controls.pause, MARKETER),
    Route("POST", "/api/campaigns/{id}/resume", campaign_controls.resume, MARKETER),
    Route("POST", "/api/campaigns/{id}/cancel", campaign_controls.cancel, MARKETER),
    Route("POST", "/api/campaigns/{id}/test", campaign_controls.test_send, MARKETER),
    Route("POST", "/api/campaigns/{id}/resend", campaign_controls.resend, MARKETER),
    Route("POST", "/api/journeys", journeys.create, MARKETER),
    Route("GET", "/api/journeys", journeys.list_journeys, MARKETER),
    Route("GET", "/api/journeys/{id}", journeys.get, MARKETER),
    Route("DELETE", "/api/journeys/{id}", journeys.delete, MARKETER),
    Route("POST", "/api/journeys/{id}/pause", journeys.pause, MARKETER),
    Route("POST", "/api/journeys/{id}/resume", journeys.resume, MARKETER),
    Route("POST", "/api/suppressions", suppressions.create, OPERATOR),
    Route("GET", "/api/suppressions", suppressions.list_suppressions, OPERATOR),
    Route("DELETE", "/api/suppressions/{email}", suppressions.delete, OPERATOR),
    Route("GET", "/api/logs", logs.list_logs, MARKETER),
    Route("POST", "/api/receipts", receipts.create, PUBLIC),  # signed by the vendor instead
    Route("GET", "/api/dead-letters", dead_letters.list_dead_letters, OPERATOR),
    Route("POST", "/api/dead-letters/replay", dead_letters.replay, OPERATOR),
    Route("GET", "/api/vendor-health", vendor_health.show, OPERATOR),
    Route("POST", "/api/ai/campaign", ai.suggest, MARKETER),
    Route("POST", "/api/ai/dynamic", ai.dynamic, MARKETER),
    Route("POST", "/api/auth", auth.login, PUBLIC),
    Route("GET", "/api/auth", auth.me, MARKETER),
    Route("GET", "/openapi.json", openapi.openapi_json, PUBLIC),
    Route("GET", "/docs", openapi.docs, PUBLIC),
    # The console's page and files: public, as a sign-in page is; every figure on it comes from the API.
    Route("GET", "/console", console.page, PUBLIC),
    Route("GET", "/console/{file}", console.asset, PUBLIC),
    Route("GET", "/console/vendor/{file}", console.vendored, PUBLIC),
)

ROLES: dict[tuple[str, str], str] = {(r.method, r.path): r.role for r in ROUTES}
"""(method, path as in the table): the route's role."""


def role_of(method: str, path: str) -> str | None:
    """The role of a route (`path` as in the table, e.g. `/api/campaigns/{id}/pause`), or None."""
    return ROLES.get(("GET" if method == "HEAD" else method, path))


def not_allowed(*methods: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        raise web.HTTPMethodNotAllowed(request.method, methods)

    return handler


def setup_routes(app: web.Application) -> None:
    for route in ROUTES:
        if route.method == "GET":
            app.router.add_get(route.path, route.handler)  # and HEAD
        else:
            app.router.add_route(route.method, route.path, route.handler)
        if route.path == "/api/campaigns/get":
            # Its own resource: `PATCH /api/campaigns/{id}` would take it as an id, and answer 400, not 405.
            app.router.add_route("*", route.path, not_allowed(route.method))
    app[ROUTE_ROLES] = ROLES
