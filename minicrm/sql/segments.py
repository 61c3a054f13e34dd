"""A segment's customers before a campaign is written: how many it would message and exclude,
whether finding them reads the whole table, and a sample of them."""

from __future__ import annotations

from typing import Any

import asyncpg

from minicrm import exclusions
from minicrm.exclusions import FrequencyCap
from minicrm.sql.customers import COLUMNS
from minicrm.sql.planning import plan

FULL_SCAN_SHARE = 0.05  # of the table's rows: at about 30 rows a page, most pages hold one
ROW_SCANS = ("Bitmap Heap Scan", "Index Scan", "Index Only Scan")

# {condition} is compiled by `rules` from allow-listed columns, {skip} by `exclusions`; their
# values are bind parameters.
MATCHING = "SELECT count(*)::int FROM customers c WHERE {condition}"
OPTED_OUT = "SELECT count(*)::int FROM suppressions s JOIN customers c ON c.email = s.email WHERE {condition}"
# The customers table's estimated size.
CUSTOMERS_ESTIMATE = "SELECT greatest(reltuples, 1) FROM pg_class WHERE oid = 'customers'::regclass"

SAMPLE = f"SELECT {COLUMNS} FROM customers c WHERE {{condition}} ORDER BY c.created_at, c.id LIMIT {{limit}}"


async def counts(
    conn: asyncpg.Connection, condition: str, params: list[Any], cap: FrequencyCap | None, time_limit: float
) -> dict[str, Any]:
    """Of the customers matching a compiled rule condition (from `rules`, values bound): how many
    would be messaged (`audience`), and how many not (`opted_out`, `frequency_capped`), each
    exclusion counted from its own, small, side (the suppression list, the period's messages).
    The matches are counted exactly if that takes at most `time_limit` seconds; else PostgreSQL's
    estimate stands and `estimated` says so. `full_scan`: finding them reads the whole table."""
    found = await plan(conn, "customers c", condition, params)
    table_rows = await conn.fetchval(CUSTOMERS_ESTIMATE)
    try:
        async with conn.transaction():
            await conn.execute(f"SET LOCAL statement_timeout = {max(1, round(time_limit * 1000))}")
            matching, estimated = await conn.fetchval(MATCHING.format(condition=condition), *params), False
    except asyncpg.QueryCanceledError:
        matching, estimated = round(found["Plan Rows"]), True
    opted_out = await conn.fetchval(OPTED_OUT.format(condition=condition), *params)
    capped_count = 0
    if cap is not None:
        capped, cap_params = exclusions.capped_count(cap, condition, len(params) + 1)
        capped_count = await conn.fetchval(capped, *params, *cap_params)
    return {
        "audience": max(0, matching - opted_out - capped_count),
        "opted_out": opted_out,
        "frequency_capped": capped_count,
        "estimated": estimated,
        "full_scan": full_scan(found, table_rows),
    }


def full_scan(top: dict[str, Any], table_rows: float) -> bool:
    """Whether a plan over customers reads the whole table: a sequential scan, or a scan expected
    to match so many rows (FULL_SCAN_SHARE of the table: a few on every page) that it reads
    nearly every page of the table, or the whole of an index instead of it (an index-only scan,
    which PostgreSQL prefers once vacuum has marked the table's pages all-visible)."""
    nodes = [top]
    while nodes:
        node = nodes.pop()
        if node.get("Relation Name") == "customers" and (
            node["Node Type"] == "Seq Scan"
            or (node["Node Type"] in ROW_SCANS and node["Plan Rows"] >= FULL_SCAN_SHARE * table_rows)
        ):
            return True
        nodes += node.get("Plans", [])
    return False


async def sample(conn: asyncpg.Connection, condition: str, params: list[Any], size: int) -> list[dict]:
    """The first `size` customers matching the condition, oldest first."""
    query = SAMPLE.format(condition=condition, limit=f"${len(params) + 1}")
    return [dict(r) for r in await conn.fetch(query, *params, size)]
