"""How statements are planned: the settings that steer the planner on tables it has no
statistics of yet, the transactions they hold for, and the plan it would choose (EXPLAIN)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

# What a statement runs on: a connection (in the caller's transaction, if it holds one), or the
# pool, which runs it on a connection of its own.
Db = asyncpg.Connection | asyncpg.Pool

# For `segmentation.PENDING_DELIVERIES` and a page of a campaign's log. On a log PostgreSQL has
# no statistics of yet (a new installation's first campaigns), it expects a handful of a
# campaign's rows, so it reads every one with a bitmap scan and sorts them, for each batch or
# page: every row of a chunk once for each batch of it, and all that is pending for every batch
# after a resume. Without a sort it walks the campaign's index in the order asked for
# ((campaign_id, customer_id), (campaign_id, created_at, id)) and stops at the limit.
IN_INDEX_ORDER = "SET LOCAL enable_sort = off"

# For the statements of a batch, which find each of their rows by its key (an array of a
# thousand ids joined to a primary key), in the batch's transaction. On a table PostgreSQL has
# no statistics of yet (a new installation's first load; every benchmark), the planner expects
# to read it in one go cheaper than a thousand look-ups and hashes the whole of it for each
# batch: several times slower than the look-ups, for the batch's reads and for its updates, and
# more so as the table grows. Without hash joins, merge joins and sequential scans only the
# look-ups are left, as long as nothing but the key narrows the table looked into: a filter the
# planner must guess at (on a table it knows nothing of) can still make it scan that table for
# each key (see `receipts._APPLY`).
BY_KEY = "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; SET LOCAL enable_seqscan = off"

# How PostgreSQL would find the rows of {source} matching {where}, and how many it expects (not run).
PLAN = "EXPLAIN (FORMAT JSON) SELECT 1 FROM {source} WHERE {where}"


async def set_local(conn: asyncpg.Connection, setting: str) -> None:
    """Plans the rest of the caller's transaction on `conn` under `setting` (`BY_KEY`, `IN_INDEX_ORDER`)."""
    await conn.execute(setting)


@asynccontextmanager
async def planned(conn: asyncpg.Connection, setting: str) -> AsyncIterator[asyncpg.Connection]:
    """A transaction on `conn` whose statements are planned under `setting` (`BY_KEY`, `IN_INDEX_ORDER`)."""
    async with conn.transaction():
        await set_local(conn, setting)
        yield conn


@asynccontextmanager
async def by_key(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A connection in a transaction whose statements find their rows by key (`BY_KEY`)."""
    async with pool.acquire() as conn, planned(conn, BY_KEY):
        yield conn


async def plan(conn: asyncpg.Connection, source: str, where: str, params: list[Any]) -> dict[str, Any]:
    """How PostgreSQL would find the rows of `source` matching `where` (EXPLAIN, not run): the
    plan's top node, with the rows it expects in `Plan Rows`."""
    explained = await conn.fetchval(PLAN.format(source=source, where=where), *params)
    return explained[0]["Plan"]  # json, decoded by the pool's codec
