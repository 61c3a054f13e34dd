"""Statements that move log rows, on the real database: none waits for another in a cycle, none
moves a message twice, none moves one it should not."""

from __future__ import annotations

import asyncio
import uuid

from minicrm import sql
from minicrm.streams.recording import apply
from support.deployment import eventually


async def test_cancelling_while_a_receipt_holds_a_message_leaves_that_message_to_the_receipt(db_pool):
    campaign, first, second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await db_pool.execute(
        "INSERT INTO campaigns (id, user_id, name, segment, message, status, pending_count)"
        " VALUES ($1, 'u', 'n', '{}', 'm', 'CANCELLED', 2)",
        campaign,
    )
    for message in (first, second):  # in this order on disk: a cancel reaches `first` first
        await db_pool.execute(
            "INSERT INTO communication_log (id, campaign_id, customer_id, customer_name, email,"
            " personalized_msg, status) VALUES ($1, $2, $3, 'N', 'n@example.com', 'hi', 'PENDING')",
            message,
            campaign,
            uuid.uuid4(),
        )
    receipts = await db_pool.acquire()
    try:
        async with (
            receipts.transaction()
        ):  # a receipts batch applying `second`: it holds the row, and may want `first` next
            await receipts.execute("SELECT 1 FROM communication_log WHERE id = $1 FOR UPDATE", second)
            await asyncio.wait_for(
                sql.campaign_controls.cancel_pending(db_pool, campaign), 5
            )  # waited for `second`, holding `first`
    finally:
        await db_pool.release(receipts)
    await sql.receipts.apply(db_pool, campaign, [second], ["SENT"], [None])
    statuses = dict(await db_pool.fetch("SELECT id, status FROM communication_log WHERE campaign_id = $1", campaign))
    assert statuses == {first: "CANCELLED", second: "SENT"}
    counts = await db_pool.fetchrow(
        "SELECT pending_count, sent_count, cancelled_count FROM campaigns WHERE id = $1", campaign
    )
    assert tuple(counts) == (0, 1, 1)


async def running_with_a_pending_message(db_pool) -> tuple[uuid.UUID, uuid.UUID]:
    campaign, message = uuid.uuid4(), uuid.uuid4()
    await db_pool.execute(
        "INSERT INTO campaigns (id, user_id, name, segment, message, status, pending_count)"
        " VALUES ($1, 'u', 'n', '{}', 'm', 'RUNNING', 1)",
        campaign,
    )
    await db_pool.execute(
        "INSERT INTO communication_log (id, campaign_id, customer_id, customer_name, email,"
        " personalized_msg, status) VALUES ($1, $2, $3, 'N', 'n@example.com', 'hi', 'PENDING')",
        message,
        campaign,
        uuid.uuid4(),
    )
    return campaign, message


async def test_a_message_two_receipts_batches_move_at_once_moves_once(db_pool):
    campaign, message = await running_with_a_pending_message(db_pool)
    first = await db_pool.acquire()
    try:
        async with first.transaction():  # the first batch has moved the message, not committed yet
            moved = await sql.receipts.apply(first, campaign, [message], ["SENT"], [None])
            second = asyncio.create_task(apply(db_pool, sql.receipts.apply, (campaign, [message], ["FAILED"], [None])))

            async def second_waits() -> bool:  # it found the message PENDING, and waits for the first's row
                return (
                    await db_pool.fetchval(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE wait_event_type = 'Lock' AND query LIKE '%found AS%'"
                        " AND datname = current_database()"
                    )
                    == 1
                )

            await eventually(second_waits, timeout=10, interval=0.05)
    finally:
        await db_pool.release(first)
    again = await asyncio.wait_for(second, 10)
    assert (moved["moved"], again["moved"]) == (1, 0)
    assert await db_pool.fetchval("SELECT status FROM communication_log WHERE id = $1", message) == "SENT"
    counts = await db_pool.fetchrow(
        "SELECT pending_count, sent_count, failed_count FROM campaigns WHERE id = $1", campaign
    )
    assert tuple(counts) == (0, 1, 0)


async def test_moving_the_pending_messages_of_a_campaign_that_is_not_cancelled_moves_none(db_pool):
    campaign, message = await running_with_a_pending_message(db_pool)
    await sql.campaign_controls.cancel_pending(db_pool, campaign)  # as a summary does, whatever the campaign's state
    assert await db_pool.fetchval("SELECT status FROM communication_log WHERE id = $1", message) == "PENDING"
    counts = await db_pool.fetchrow("SELECT pending_count, cancelled_count FROM campaigns WHERE id = $1", campaign)
    assert tuple(counts) == (1, 0)
