"""Every route of the edge, under `/api` as in the original system."""

from __future__ import annotations

from aiohttp import web

from minicrm.edge import customers, health, orders


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/readyz", health.readyz)
    app.router.add_post("/api/customers", customers.create)
    app.router.add_post("/api/customers/get", customers.search)
    app.router.add_post("/api/orders", orders.create)
    app.router.add_get("/api/orders", orders.list_orders)
