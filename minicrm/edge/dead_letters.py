"""`GET /api/dead-letters`: what the pipeline could not store, with the reason, newest first;
`POST /api/dead-letters/replay`: one of them, or a topic's, back onto its topic (operators only)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from minicrm import dead_letters, sql
from minicrm.edge.errors import InvalidInput
from minicrm.edge.listing import SortOrder, listing
from minicrm.edge.requests import page, query_text, read_json, validate_one
from minicrm.edge.responses import json_response
from minicrm.edge.schemas import ReplayIn
from minicrm.edge.state import POOL, PUBLISHER, SETTINGS

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


async def replay(request: web.Request) -> web.Response:
    """`{id}` or `{topic}` (never all topics at once, as on the command line): the dead letters not
    replayed yet, published again and marked replayed; every write downstream is idempotent."""
    body = validate_one(ReplayIn, await read_json(request))
    ids = await dead_letters.replay_with(
        request.app[POOL], request.app[PUBLISHER].publish_raw, request.app[SETTINGS], body.topic, body.id, body.limit
    )
    return json_response({"message": f"replayed {len(ids)} dead letter(s)", "replayed": ids})
