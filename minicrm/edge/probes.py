"""`GET /healthz` (the process is up) and `GET /readyz` (Kafka and PostgreSQL reachable)."""

from __future__ import annotations

from aiohttp import web

from minicrm import sql
from minicrm.edge.responses import json_response
from minicrm.edge.state import POOL, PUBLISHER


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when Kafka and PostgreSQL answer; also says how many dead letters wait for a look
    (they do not make the edge unready: it still keeps every promise it makes)."""
    try:
        dead_letters = await sql.dead_letters.unreplayed(request.app[POOL])
        postgres = True
    except Exception:  # noqa: BLE001 - any failure means not ready; /readyz says so
        dead_letters, postgres = None, False
    kafka = await request.app[PUBLISHER].ready()
    ready = postgres and kafka
    return json_response(
        {"postgres": postgres, "kafka": kafka, "ready": ready, "dead_letters": dead_letters},
        status=200 if ready else 503,
    )
