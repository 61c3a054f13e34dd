"""Reading a campaign's pending messages for publication, on the real database."""

from __future__ import annotations

import uuid

from minicrm.db import create_pool
from minicrm.localstack import Pipeline
from minicrm.sql import queries
from minicrm.streams.campaigns import CHUNK, MAX, NIL, audience_query, pending_deliveries
from minicrm.streams.records import CampaignRequest

CUSTOMERS = 100_000  # below some 50,000 PostgreSQL walks the index on its own
READ = "SELECT idx_tup_fetch + seq_tup_read FROM pg_stat_user_tables WHERE relname = 'communication_log'"


async def rows_read(db, fetch) -> tuple[list, int]:
    """What `fetch()` returns, and how many log rows PostgreSQL read for it (`db` has one
    connection: its statistics are flushed, and read afresh)."""
    async def read() -> int:
        await db.execute("SELECT pg_stat_force_next_flush()")  # when this statement ends
        await db.execute("SELECT pg_stat_clear_snapshot()")
        return await db.fetchval(READ)

    before = await read()
    rows = await fetch()
    return rows, await read() - before


async def test_a_batch_of_pending_messages_reads_its_rows_alone_on_a_new_log(tmp_path):
    """A new installation's first campaign (and every benchmark's): PostgreSQL has no statistics
    of the log, and left to itself it read and sorted every pending row of the campaign for each
    batch of a thousand."""
    fresh = Pipeline(tmp_path)
    await fresh.create()
    db = await create_pool(fresh.settings.database_url, min_size=1, max_size=1)
    try:
        city = "Publication"
        request = CampaignRequest(id=str(uuid.uuid4()), user_id="u", name="n", intent="", message="Hi {{name}}",
                                  segment={"combinator": "AND", "rules": [
                                      {"attribute": "city", "operator": "=", "value": city}]})
        campaign = uuid.UUID(request.id)
        sql, params = audience_query(request)
        async with db.acquire() as conn:
            await conn.execute("ALTER TABLE communication_log SET (autovacuum_enabled = off)")  # stays new meanwhile
            await conn.copy_records_to_table("customers", columns=["id", "name", "email", "city"], records=[
                (uuid.uuid4(), f"Person {i}", f"p{i}@example.com", city) for i in range(CUSTOMERS)])
            await conn.execute("ANALYZE customers")
            await conn.execute(queries.CREATE_CAMPAIGN, *request.row("SEGMENTING"))
            after = NIL
            while (after := await conn.fetchval(sql, campaign, after, CHUNK, *params)) is not None:
                pass  # segmentation's chunks, as the worker writes them
            customers = [r[0] for r in await conn.fetch("SELECT id FROM customers ORDER BY id LIMIT 2000")]

        rows, read = await rows_read(db, lambda: db.fetch(queries.PENDING_DELIVERIES, campaign, NIL, MAX, 1000))
        assert len(rows) == 1000 and read >= CUSTOMERS  # left to itself: every row read for a thousand

        first, read_first = await rows_read(db, lambda: pending_deliveries(db, campaign, NIL, MAX))
        after = uuid.UUID(first[-1]["customer_id"])
        second, read_second = await rows_read(db, lambda: pending_deliveries(db, campaign, after, MAX))
        assert len(first) == len(second) == 1000  # the worker's batch size
        assert [uuid.UUID(r["customer_id"]) for r in first + second] == customers
        assert read_first <= 1001 and read_second <= 1001
    finally:
        await db.close()
        await fresh.drop()
