"""`GET /api/vendor-health` (operators): each delivery vendor's calls over the live view's window,
its error rate, the body limit learnt from its 413s, and the campaigns its failures paused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from minicrm import sql
from minicrm.edge.responses import json_response
from minicrm.edge.state import POOL, SETTINGS

FRESH_SECONDS = 10.0  # figures older than this are the live worker's last word, not the present


def vendor(row: Any, now: datetime) -> dict[str, Any]:
    shown = dict(row)
    calls = (row["ok"] or 0) + (row["failed"] or 0)
    shown["error_rate"] = round(row["failed"] / calls, 4) if calls else None
    shown["fresh"] = row["updated_at"] is not None and (now - row["updated_at"]).total_seconds() < FRESH_SECONDS
    return shown


async def show(request: web.Request) -> web.Response:
    db = request.app[POOL]
    now = datetime.now(UTC)
    vendors = [vendor(r, now) for r in await sql.live.vendors(db)]
    return json_response(
        {
            "configured": request.app[SETTINGS].vendor_url,
            "vendors": vendors,
            "paused_campaigns": [dict(r) for r in await sql.live.paused_by_vendor(db)],
        }
    )
