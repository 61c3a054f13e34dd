"""Reads of a campaign's log rows on a log PostgreSQL has no statistics of yet: a new
installation's first campaigns, and every benchmark's. Left to itself, PostgreSQL expected a
handful of the campaign's rows, read every one of them with a bitmap scan and sorted them, for
each batch or page it was asked for; and for a batch of receipts, or of orders' customers, it
read the whole table rather than a thousand rows by their keys."""

from __future__ import annotations

import contextlib
import uuid

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from minicrm import sql
from minicrm.db import create_pool
from minicrm.edge.logs import list_logs
from minicrm.edge.state import POOL, SETTINGS
from minicrm.streams.campaigns import CHUNK, MAX, NIL, audience_query, pending_deliveries, write_chunk
from minicrm.streams.recording import apply
from support.deployment import Pipeline
from support.requests import city_campaign

CUSTOMERS = 200_000  # PostgreSQL walks the index on its own at 100,000 since migration 012 widened the log
READ = "SELECT idx_tup_fetch + seq_tup_read FROM pg_stat_user_tables WHERE relname = $1"


@contextlib.asynccontextmanager
async def log_of(workdir, customers: int):
    """(the deployment, a pool of one connection, the campaign, its customers' ids in order) on a
    database of its own whose log holds one campaign of `customers`, written as segmentation
    writes it."""
    fresh = Pipeline(workdir)
    await fresh.create()
    db = await create_pool(fresh.settings.database_url, min_size=1, max_size=1)
    try:
        city = "New log"
        request = city_campaign(city)
        campaign = uuid.UUID(request.id)
        async with db.acquire() as conn:
            for table in ("communication_log", "customers"):  # they stay new meanwhile
                await conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = off)")
            await conn.copy_records_to_table(
                "customers",
                columns=["id", "name", "email", "city"],
                records=[(uuid.uuid4(), f"Person {i}", f"p{i}@example.com", city) for i in range(customers)],
            )
            await conn.execute("ANALYZE customers")
            await sql.campaigns.create(conn, request.row("SEGMENTING"))
        while await write_chunk(db, campaign, audience_query(request), CHUNK) is not None:
            pass
        ids = [r[0] for r in await db.fetch("SELECT id FROM customers ORDER BY id")]
        yield fresh, db, campaign, ids
    finally:
        await db.close()
        await fresh.drop()


@pytest.fixture(scope="module")
async def new_log(tmp_path_factory):
    async with log_of(tmp_path_factory.mktemp("new-log"), CUSTOMERS) as log:
        yield log


@pytest.fixture(scope="module")
async def small_new_log(tmp_path_factory):
    async with log_of(tmp_path_factory.mktemp("small-new-log"), 3_000) as log:
        yield log


async def rows_read(db, fetch, table: str = "communication_log") -> tuple[object, int]:
    """What `fetch()` returns, and how many rows of `table` PostgreSQL read for it (`db` has one
    connection: its statistics are flushed, and read afresh)."""

    async def read() -> int:
        await db.execute("SELECT pg_stat_force_next_flush()")  # when this statement ends
        await db.execute("SELECT pg_stat_clear_snapshot()")
        return await db.fetchval(READ, table)

    before = await read()
    result = await fetch()
    return result, await read() - before


async def test_left_to_itself_postgresql_reads_every_row_of_the_campaign_for_a_thousand(new_log):
    _, db, campaign, _ = new_log
    rows, read = await rows_read(db, lambda: sql.segmentation.pending_deliveries(db, campaign, NIL, MAX, 1000))
    assert len(rows) == 1000 and read >= CUSTOMERS


async def test_a_batch_of_pending_messages_reads_its_rows_alone(new_log):
    _, db, campaign, customers = new_log
    first, read_first = await rows_read(db, lambda: pending_deliveries(db, campaign, NIL, MAX))
    after = uuid.UUID(first[-1]["customer_id"])
    second, read_second = await rows_read(db, lambda: pending_deliveries(db, campaign, after, MAX))
    assert len(first) == len(second) == 1000  # the worker's batch size
    assert [uuid.UUID(r["customer_id"]) for r in first + second] == customers[:2000]
    assert read_first <= 1001 and read_second <= 1001


@pytest.mark.parametrize("status", [None, "PENDING"])
async def test_a_page_of_a_campaigns_log_reads_its_rows_alone(new_log, status):
    fresh, db, campaign, _ = new_log
    app = web.Application()
    app[SETTINGS], app[POOL] = fresh.settings, db
    query = f"campaignId={campaign}&limit=50" + (f"&status={status}" if status else "")
    response, read = await rows_read(db, lambda: list_logs(make_mocked_request("GET", f"/api/logs?{query}", app=app)))
    assert response.status == 200 and len(orjson.loads(response.body)) == 50
    assert response.headers["X-Total-Count"] == str(CUSTOMERS)
    assert read <= 51


async def receipts_read(log) -> int:
    """How many log rows a batch of 1,000 receipts read; they are for messages out when their
    campaign was cancelled, and there are none, so nothing moves."""
    _, db, campaign, _ = log
    ids = [
        r[0]
        for r in await db.fetch(
            "SELECT id FROM communication_log WHERE campaign_id = $1 ORDER BY customer_id DESC LIMIT 1000", campaign
        )
    ]
    args = (campaign, ids, ["SENT"] * len(ids), [None] * len(ids))
    result, read = await rows_read(db, lambda: apply(db, sql.receipts.apply_late, args))
    assert result["moved"] == 0
    return read


async def test_a_batch_of_receipts_reads_its_messages_alone(new_log):
    assert await receipts_read(new_log) <= 1000


async def test_a_batch_of_receipts_reads_its_messages_alone_in_a_small_log(small_new_log):
    assert await receipts_read(small_new_log) <= 1000


async def test_a_batch_of_orders_reads_its_customers_alone(new_log):
    _, db, _, customers = new_log
    some = customers[::100]

    async def by_keys():
        async with sql.planning.by_key(db) as conn:
            return await sql.customers.existing(conn, some)

    _, left_to_itself = await rows_read(db, lambda: sql.customers.existing(db, some), "customers")
    found, read = await rows_read(db, by_keys, "customers")
    assert left_to_itself >= CUSTOMERS
    assert {r["id"] for r in found} == set(some) and read <= len(some)
