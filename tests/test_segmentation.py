"""Segmentation's chunks on the real database: whoever writes them (a replayed request, a second
worker on the same campaign), each customer of the audience gets one log row, counted once."""

from __future__ import annotations

import asyncio
import uuid

from minicrm import sql
from minicrm.streams.campaigns import audience_query, write_chunk
from support.deployment import eventually
from support.requests import city_campaign

AUDIENCE = 30


async def new_campaign(db_pool) -> tuple[uuid.UUID, tuple[str, list], list[uuid.UUID]]:
    """A SEGMENTING campaign to the AUDIENCE customers of a city of its own: (its id, its chunk
    statement, their ids in order)."""
    city = f"Segmented {uuid.uuid4().hex[:8]}"
    customers = sorted(uuid.uuid4() for _ in range(AUDIENCE))
    await db_pool.copy_records_to_table(
        "customers",
        columns=["id", "name", "email", "city"],
        records=[(c, f"Person {i}", f"{c}@example.com", city) for i, c in enumerate(customers)],
    )
    request = city_campaign(city)
    await sql.campaigns.create(db_pool, request.row("SEGMENTING"))
    return uuid.UUID(request.id), audience_query(request), customers


async def written(db_pool, campaign: uuid.UUID) -> tuple[list[uuid.UUID], int, int]:
    """(the customers with a log row, in order, one entry per row; pending_count; audience_size)."""
    rows = await db_pool.fetch(
        "SELECT customer_id FROM communication_log WHERE campaign_id = $1 AND NOT test ORDER BY customer_id", campaign
    )
    counts = await db_pool.fetchrow("SELECT pending_count, audience_size FROM campaigns WHERE id = $1", campaign)
    return [r[0] for r in rows], counts["pending_count"], counts["audience_size"]


async def segment_all(db_pool, campaign: uuid.UUID, chunk: tuple[str, list], size: int) -> list[uuid.UUID]:
    """Chunks until the audience is written, as `campaigns.run` does: the last customer of each."""
    lasts = []
    while (last := await write_chunk(db_pool, campaign, chunk, size)) is not None:
        lasts.append(last)
    return lasts


async def test_a_replay_part_way_or_after_the_end_writes_each_customer_once(db_pool):
    campaign, chunk, customers = await new_campaign(db_pool)
    first = [await write_chunk(db_pool, campaign, chunk, 7) for _ in range(2)]  # then the worker dies
    assert first == [customers[6], customers[13]]

    assert await segment_all(db_pool, campaign, chunk, 7) == [customers[20], customers[27], customers[29]]
    assert await segment_all(db_pool, campaign, chunk, 7) == []  # and once more, after the end
    assert await written(db_pool, campaign) == (customers, AUDIENCE, AUDIENCE)


async def test_a_test_send_before_the_start_leaves_the_audience_whole(db_pool):
    campaign, chunk, customers = await new_campaign(db_pool)
    last = customers[-1]  # a test send to the audience's last customer: a log row of the campaign
    await sql.logs.insert_test_messages(
        db_pool, campaign, [uuid.uuid4()], [last], ["Person"], [f"{last}@example.com"], [None], ["Hi Person"]
    )
    assert await segment_all(db_pool, campaign, chunk, 20) == [customers[19], customers[29]]
    assert await written(db_pool, campaign) == (customers, AUDIENCE, AUDIENCE)


async def test_a_second_worker_writes_its_chunk_after_the_first_ones(db_pool):
    campaign, chunk, customers = await new_campaign(db_pool)
    statement, params = chunk
    first, second = await db_pool.acquire(), None
    try:
        async with first.transaction():  # the first worker is writing its first chunk
            await sql.segmentation.lock(first, campaign)
            assert await sql.segmentation.write_chunk(first, statement, campaign, 10, params) == customers[9]
            second = asyncio.create_task(segment_all(db_pool, campaign, chunk, 10))

            async def second_waits() -> bool:  # for the first's lock, not for its rows
                return (
                    await db_pool.fetchval(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory'"
                        " AND datname = current_database()"
                    )
                    == 1
                )

            await eventually(second_waits, timeout=5)
        assert await asyncio.wait_for(second, 5) == [customers[19], customers[29]]
    finally:
        if second:
            second.cancel()
        await db_pool.release(first)
    assert await written(db_pool, campaign) == (customers, AUDIENCE, AUDIENCE)
