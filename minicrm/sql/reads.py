"""The reads behind the edge's views: their SQL in one place, and a domain `NotFound`."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from minicrm.sql import queries


class NotFound(LookupError):
    """No such row, or not the caller's: both answer the same, so ids cannot be probed."""


async def campaign(conn: asyncpg.Connection, campaign_id: UUID, user: str | None,
                   columns: str = "c.id") -> asyncpg.Record:
    """The campaign if `user` may see it (their own; any when `user` is None, in open mode)."""
    row = await conn.fetchrow(queries.OWNED_CAMPAIGN.format(columns=columns), campaign_id, user)
    if row is None:
        raise NotFound(f"no campaign {campaign_id}")
    return row


async def timeline(conn: asyncpg.Connection, campaign_id: UUID) -> list[dict[str, Any]]:
    return [dict(t) for t in await conn.fetch(queries.CAMPAIGN_TIMELINE, campaign_id)]


async def segment_size(conn: asyncpg.Connection, condition: str, params: list[Any]) -> int:
    """How many customers match a compiled rule condition (from `rules`, values bound)."""
    return await conn.fetchval(queries.SEGMENT_SIZE.format(condition=condition), *params)


async def segment_sample(conn: asyncpg.Connection, condition: str, params: list[Any], size: int) -> list[dict]:
    query = queries.SEGMENT_SAMPLE.format(condition=condition, limit=f"${len(params) + 1}")
    return [dict(r) for r in await conn.fetch(query, *params, size)]
