"""The reads behind the edge's views: their SQL in one place, and a domain `NotFound`."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from minicrm import campaign_states as states, exclusions
from minicrm.exclusions import FrequencyCap
from minicrm.sql import queries


FULL_SCAN_SHARE = 0.05  # of the table's rows: at about 30 rows a page, most pages hold one
ROW_SCANS = ("Bitmap Heap Scan", "Index Scan", "Index Only Scan")


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


async def segment_counts(conn: asyncpg.Connection, condition: str, params: list[Any], cap: FrequencyCap | None,
                         time_limit: float) -> dict[str, Any]:
    """Of the customers matching a compiled rule condition (from `rules`, values bound): how many
    would be messaged (`audience`), and how many not (`opted_out`, `frequency_capped`), each
    exclusion counted from its own, small, side (the suppression list, the period's messages).
    The matches are counted exactly if that takes at most `time_limit` seconds; else PostgreSQL's
    estimate stands and `estimated` says so. `full_scan`: finding them reads the whole table."""
    found = await plan(conn, "customers c", condition, params)
    table_rows = await conn.fetchval(queries.CUSTOMERS_ESTIMATE)
    try:
        async with conn.transaction():
            await conn.execute(f"SET LOCAL statement_timeout = {max(1, round(time_limit * 1000))}")
            matching, estimated = await conn.fetchval(queries.SEGMENT_MATCHING.format(condition=condition), *params), False
    except asyncpg.QueryCanceledError:
        matching, estimated = round(found["Plan Rows"]), True
    opted_out = await conn.fetchval(queries.SEGMENT_OPTED_OUT.format(condition=condition), *params)
    capped_count = 0
    if cap is not None:
        capped, cap_params = exclusions.capped_count(cap, condition, len(params) + 1)
        capped_count = await conn.fetchval(capped, *params, *cap_params)
    return {"audience": max(0, matching - opted_out - capped_count), "opted_out": opted_out,
            "frequency_capped": capped_count, "estimated": estimated, "full_scan": full_scan(found, table_rows)}


async def plan(conn: asyncpg.Connection, source: str, where: str, params: list[Any]) -> dict[str, Any]:
    """How PostgreSQL would find the rows of `source` matching `where` (EXPLAIN, not run): the
    plan's top node, with the rows it expects in `Plan Rows`."""
    explained = await conn.fetchval(queries.PLAN.format(source=source, where=where), *params)
    return explained[0]["Plan"]  # json, decoded by the pool's codec


def full_scan(top: dict[str, Any], table_rows: float) -> bool:
    """Whether a plan over customers reads the whole table: a sequential scan, or a scan expected
    to match so many rows (FULL_SCAN_SHARE of the table: a few on every page) that it reads
    nearly every page of the table, or the whole of an index instead of it (an index-only scan,
    which PostgreSQL prefers once vacuum has marked the table's pages all-visible)."""
    nodes = [top]
    while nodes:
        node = nodes.pop()
        if node.get("Relation Name") == "customers" and (node["Node Type"] == "Seq Scan" or (
                node["Node Type"] in ROW_SCANS and node["Plan Rows"] >= FULL_SCAN_SHARE * table_rows)):
            return True
        nodes += node.get("Plans", [])
    return False


async def segment_sample(conn: asyncpg.Connection, condition: str, params: list[Any], size: int) -> list[dict]:
    query = queries.SEGMENT_SAMPLE.format(condition=condition, limit=f"${len(params) + 1}")
    return [dict(r) for r in await conn.fetch(query, *params, size)]
