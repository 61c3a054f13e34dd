"""`GET /healthz` (the process is up) and `GET /readyz` (Kafka and PostgreSQL reachable)."""

from __future__ import annotations

from aiohttp import web

from minicrm.edge.responses import json_response
from minicrm.edge.state import POOL, PUBLISHER


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    try:
        postgres = await request.app[POOL].fetchval("SELECT 1") == 1
    except Exception:
        postgres = False
    kafka = await request.app[PUBLISHER].ready()
    ready = postgres and kafka
    return json_response({"postgres": postgres, "kafka": kafka, "ready": ready}, status=200 if ready else 503)
