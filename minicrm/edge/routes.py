"""Every route of the edge, under `/api` as in the original system."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from minicrm.edge import (
    ai,
    auth,
    campaign_controls,
    campaign_events,
    campaigns,
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
)


def not_allowed(*methods: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        raise web.HTTPMethodNotAllowed(request.method, methods)

    return handler


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", probes.healthz)
    app.router.add_get("/readyz", probes.readyz)
    app.router.add_get("/metrics", monitoring.serve)
    app.router.add_post("/api/customers", customers.create)
    app.router.add_post("/api/customers/get", customers.search)
    app.router.add_post("/api/orders", orders.create)
    app.router.add_get("/api/orders", orders.list_orders)
    app.router.add_post("/api/campaigns", campaigns.create)
    app.router.add_post("/api/campaigns/get", campaigns.get)
    # Its own resource: `PATCH /api/campaigns/{id}` would take it as an id, and answer 400, not 405.
    app.router.add_route("*", "/api/campaigns/get", not_allowed("POST"))
    app.router.add_patch("/api/campaigns/{id}", campaign_controls.reschedule)
    app.router.add_get("/api/campaigns/{id}/events", campaign_events.events)
    app.router.add_post("/api/campaigns/{id}/pause", campaign_controls.pause)
    app.router.add_post("/api/campaigns/{id}/resume", campaign_controls.resume)
    app.router.add_post("/api/campaigns/{id}/cancel", campaign_controls.cancel)
    app.router.add_post("/api/campaigns/{id}/test", campaign_controls.test_send)
    app.router.add_post("/api/campaigns/{id}/resend", campaign_controls.resend)
    app.router.add_post("/api/journeys", journeys.create)
    app.router.add_get("/api/journeys", journeys.list_journeys)
    app.router.add_get("/api/journeys/{id}", journeys.get)
    app.router.add_delete("/api/journeys/{id}", journeys.delete)
    app.router.add_post("/api/journeys/{id}/pause", journeys.pause)
    app.router.add_post("/api/journeys/{id}/resume", journeys.resume)
    app.router.add_post("/api/suppressions", suppressions.create)
    app.router.add_get("/api/suppressions", suppressions.list_suppressions)
    app.router.add_delete("/api/suppressions/{email}", suppressions.delete)
    app.router.add_get("/api/logs", logs.list_logs)
    app.router.add_post("/api/receipts", receipts.create)
    app.router.add_get("/api/dead-letters", dead_letters.list_dead_letters)
    app.router.add_post("/api/ai/campaign", ai.suggest)
    app.router.add_post("/api/ai/dynamic", ai.dynamic)
    app.router.add_post("/api/auth", auth.login)
    app.router.add_get("/api/auth", auth.me)
    app.router.add_get("/openapi.json", openapi.openapi_json)
    app.router.add_get("/docs", openapi.docs)
