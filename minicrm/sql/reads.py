"""The reads behind the edge's views: their SQL in one place, and a domain `NotFound`."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from minicrm import campaign_states as states, exclusions
from minicrm.exclusions import FrequencyCap
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


async def control_state(conn: asyncpg.Connection, campaign_id: UUID, user: str | None) -> states.State:
    """What a user's action on the campaign is decided on (`campaign_states.decide`)."""
    row = await conn.fetchrow(queries.CONTROL_STATE, campaign_id, user)
    if row is None:
        raise NotFound(f"no campaign {campaign_id}")
    return states.State(**row)


async def log_total(conn: asyncpg.Connection, campaign: asyncpg.Record, status: str | None) -> int:
    """How many log rows campaign `campaign` (read with its counters) has, in `status` or all:
    its counters, and the test sends that no counter counts."""
    counted = sum(campaign[c] for s, counters in states.COUNTERS.items() if status in (None, s) for c in counters)
    return counted + await conn.fetchval(queries.TEST_SENDS, campaign["id"], status)


async def timeline(conn: asyncpg.Connection, campaign_id: UUID) -> list[dict[str, Any]]:
    return [dict(t) for t in await conn.fetch(queries.CAMPAIGN_TIMELINE, campaign_id)]


async def segment_counts(conn: asyncpg.Connection, condition: str, params: list[Any],
                         cap: FrequencyCap | None) -> dict[str, int]:
    """Of the customers matching a compiled rule condition (from `rules`, values bound): how many
    would be messaged (`audience`), and how many not (`opted_out`, `frequency_capped`)."""
    capped, cap_params = exclusions.capped_count(cap, condition, len(params) + 1)
    row = await conn.fetchrow(queries.SEGMENT_COUNTS.format(condition=condition, capped=capped), *params, *cap_params)
    return {"audience": row["matching"] - row["opted_out"] - row["frequency_capped"],
            "opted_out": row["opted_out"], "frequency_capped": row["frequency_capped"]}


async def full_scan(conn: asyncpg.Connection, condition: str, params: list[Any]) -> bool:
    """Whether finding the customers matching `condition` reads the whole table (no index serves it)."""
    plan = await conn.fetchval(queries.SEGMENT_PLAN.format(condition=condition), *params)
    nodes = [plan[0]["Plan"]]  # json, decoded by the pool's codec
    while nodes:
        node = nodes.pop()
        if node["Node Type"] == "Seq Scan" and node.get("Relation Name") == "customers":
            return True
        nodes += node.get("Plans", [])
    return False


async def segment_sample(conn: asyncpg.Connection, condition: str, params: list[Any], size: int) -> list[dict]:
    query = queries.SEGMENT_SAMPLE.format(condition=condition, limit=f"${len(params) + 1}")
    return [dict(r) for r in await conn.fetch(query, *params, size)]
