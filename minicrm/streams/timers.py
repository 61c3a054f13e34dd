"""Periodic work that one worker at a time does, and that never stops the worker."""

from __future__ import annotations

import logging
from typing import Awaitable, Callable

import asyncpg

from minicrm.sql import queries
from minicrm.streams.batching import is_transient
from minicrm.streams.resources import pool

log = logging.getLogger(__name__)

# PostgreSQL advisory lock keys, one per periodic job.
REDRIVE_PARKED_ORDERS = 727_275
START_DUE_CAMPAIGNS = 727_276
PRUNE_ORDER_CLAIMS = 727_278


async def guard(what: str, work: Callable[[], Awaitable[None]]) -> None:
    """Runs a timer's `work`. A Faust timer that raises crashes the whole worker (a PostgreSQL
    restart did), so failures are logged and the next tick tries again."""
    try:
        await work()
    except Exception as exc:  # noqa: BLE001
        if is_transient(exc):
            log.warning("%s failed (%r); the next tick retries", what, exc)
        else:
            log.exception("%s failed; the next tick retries", what)


async def exclusive(lock: int, what: str, work: Callable[[asyncpg.Connection], Awaitable[None]]) -> None:
    """Runs `work` under advisory lock `lock`, skipped while another worker holds it; never raises."""
    async def locked() -> None:
        db = await pool()
        async with db.acquire() as conn:
            if not await conn.fetchval(queries.TRY_LOCK, lock):
                return
            try:
                await work(conn)
            finally:
                await conn.execute(queries.UNLOCK, lock)

    await guard(what, locked)
