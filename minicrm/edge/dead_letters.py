"""`GET /api/dead-letters`: what the pipeline could not store, with the reason, newest first."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from minicrm import dead_letters, sql
from minicrm.edge.errors import InvalidInput
from minicrm.edge.listing import SortOrder, listing
from minicrm.edge.requests import page, query_text
from minicrm.edge.state import POOL, SETTINGS

NEWEST_FIRST = SortOrder((("d.id", "bigint"),), descending=True)


async def list_dead_letters(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    listed = page(request, settings, unpaged=False)
    conditions: list[str] = []
    params: list[object] = []
    if topic := query_text(request, "topic"):
        params.append(dead_letters.topic_name(settings, topic))
        conditions.append(f"d.topic = ${len(params)}")
    if since := request.query.get("since"):
        try:
            moment = datetime.fromisoformat(since)
            params.append((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC))
        except (ValueError, OverflowError):
            raise InvalidInput([{"field": "since", "message": "must be an ISO 8601 date or time"}]) from None
        conditions.append(f"d.created_at >= ${len(params)}")
    return await listing(
        request,
        request.app[POOL],
        listed,
        select=sql.dead_letters.COLUMNS,
        source="dead_letters d",
        where=" AND ".join(conditions) or "TRUE",
        params=params,
        order=NEWEST_FIRST,
        shape=dead_letters.shape,
    )
