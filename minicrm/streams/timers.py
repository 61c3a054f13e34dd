"""Periodic work that one worker at a time does, and that never stops the worker."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import asyncpg

from minicrm import sql
from minicrm.outages import is_transient
from minicrm.streams.resources import pool

log = logging.getLogger(__name__)


async def guard(what: str, work: Callable[[], Awaitable[None]]) -> None:
    """Runs a timer's `work`. A Faust timer that raises crashes the whole worker (a PostgreSQL
    restart did), so failures are logged and the next tick tries again."""
    try:
        await work()
    except Exception as exc:
        if is_transient(exc):
            log.warning("%s failed (%r); the next tick retries", what, exc)
        else:
            log.exception("%s failed; the next tick retries", what)


async def exclusive(lock: int, what: str, work: Callable[[asyncpg.Connection], Awaitable[None]]) -> None:
    """Runs `work` under advisory lock `lock`, skipped while another worker holds it; never raises."""

    async def locked() -> None:
        db = await pool()
        async with db.acquire() as conn:
            if not await sql.locks.try_lock(conn, lock):
                return
            try:
                await work(conn)
            finally:
                await sql.locks.unlock(conn, lock)

    await guard(what, locked)
