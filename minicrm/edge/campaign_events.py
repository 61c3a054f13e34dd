"""`GET /api/campaigns/{id}/events`: a campaign's progress as Server-Sent Events.

Every second an event whose `data` is the campaign's read (the fields of `POST
/api/campaigns/get {campaignId}`, without the timeline) plus `eta_seconds`, until it is
settled (final, with its summary when it gets one); that last event is the final read,
and the stream closes. Event ids count up; a client that reconnects with `Last-Event-ID`
carries on from there. The owner rules of the reads apply (404 before the stream starts).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from minicrm import campaign_states as states
from minicrm.edge.auth import scope
from minicrm.edge.campaigns import campaign_uuid, view
from minicrm.edge.errors import InvalidInput
from minicrm.edge.responses import dumps
from minicrm.edge.state import POOL

INTERVAL = 1.0


def settled(campaign: dict[str, Any]) -> bool:
    """Nothing about it changes any more: final, and summarised if it will be."""
    return campaign["status"] in states.FINAL and (
        campaign["summary"] is not None or campaign["status"] == states.FAILED or campaign["startedAt"] is None
    )


def progress(campaign: dict[str, Any]) -> dict[str, Any]:
    event = {k: v for k, v in campaign.items() if k != "timeline"}
    rate = campaign["current_rate_per_second"]
    event["eta_seconds"] = (
        round(campaign["pending_count"] / rate, 1) if rate and campaign["status"] == states.RUNNING else None
    )
    return event


def last_event_id(request: web.Request) -> int:
    raw = request.headers.get("Last-Event-ID", "0").strip() or "0"
    if not raw.isdigit() or len(raw) > 12:
        raise InvalidInput([{"field": "Last-Event-ID", "message": "must be the id of an event of this stream"}])
    return int(raw)


async def events(request: web.Request) -> web.StreamResponse:
    campaign_id = campaign_uuid(request.match_info["id"])
    user = scope(request)
    event_id = last_event_id(request)
    pool = request.app[POOL]
    async with pool.acquire() as conn:
        campaign = await view(conn, campaign_id, user)  # 404 here, before the stream starts
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    while True:
        event_id += 1
        done = settled(campaign)
        await response.write(
            b"id: %d\nevent: %s\ndata: %s\n\n"
            % (event_id, b"final" if done else b"progress", dumps(progress(campaign)))
        )
        if done:
            break
        await asyncio.sleep(INTERVAL)
        async with pool.acquire() as conn:
            campaign = await view(conn, campaign_id, user)
    await response.write_eof()
    return response
