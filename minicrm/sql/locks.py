"""PostgreSQL advisory lock keys, every one in this place so that no two uses share a key.

A job that one process at a time may do takes its key for the session (`try_lock`, then
`unlock`); segmentation takes its key with the campaign's hash as a second key, for one
transaction (`segmentation.LOCK`). Keys are never reused: `@unique` checks it.
"""

from __future__ import annotations

from enum import IntEnum, unique

import asyncpg


@unique
class Lock(IntEnum):
    # `db.migrate`: one migration runner at a time, the others wait for it.
    MIGRATIONS = 727_274
    # The timer that writes parked orders whose customer has arrived: one worker at a time.
    REDRIVE_PARKED_ORDERS = 727_275
    # The timer that starts scheduled campaigns that are due: one worker at a time.
    START_DUE_CAMPAIGNS = 727_276
    # A campaign's audience chunks and its cancel (with the campaign's hash as second key).
    SEGMENTATION = 727_277
    # The timer that drops the edge's claims of stored orders: one worker at a time.
    PRUNE_ORDER_CLAIMS = 727_278
    # The timer that decides the A/B tests that are due: one worker at a time.
    DECIDE_TESTS = 727_279
    # A customer evaluated for the journeys (with the customer's hash as second key, for a
    # transaction): the change agent and the timers see one customer at a time.
    JOURNEY_CUSTOMER = 727_280
    # The journeys' timers, each one worker at a time: starting journeys, sending the entries
    # due, publishing lost messages again, midnight's re-evaluation.
    START_JOURNEYS = 727_281
    SEND_DUE_ENTRIES = 727_282
    REPUBLISH_ENTRIES = 727_283
    JOURNEYS_MIDNIGHT = 727_284
    # The timer that ends messages whose receipt never came: one worker at a time.
    RECEIPT_TIMEOUTS = 727_285
    # The timer that asks for the summaries whose trigger was lost: one worker at a time.
    SUMMARY_SWEEP = 727_286


TRY_LOCK = "SELECT pg_try_advisory_lock($1)"

UNLOCK = "SELECT pg_advisory_unlock($1)"


async def try_lock(conn: asyncpg.Connection, key: int) -> bool:
    """Takes `key` for the session of `conn`, unless another session holds it."""
    return await conn.fetchval(TRY_LOCK, key)


async def unlock(conn: asyncpg.Connection, key: int) -> None:
    await conn.execute(UNLOCK, key)
