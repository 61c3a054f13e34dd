"""The one batching writer every agent uses.

A batch is written in one transaction. Faust acks a batch whether or not the agent
raised, so this never raises: an outage (PostgreSQL unreachable) is retried with
capped backoff until it passes, and a batch that PostgreSQL rejects is split in
halves until the records it cannot store are found; each goes to `dead_letters`
with its reason, and the rest are written.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any, Awaitable, Callable, Sequence, TypeVar

import asyncpg
import faust

from minicrm.sql import queries

T = TypeVar("T")
Write = Callable[[asyncpg.Connection, Sequence[T]], Awaitable[Any]]
log = logging.getLogger(__name__)

TRANSIENT = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.AdminShutdownError,
)


class Rejected(Exception):
    """A record the pipeline will not store, with the reason for the dead-letter table."""


def backoff(attempt: int, cap: float) -> float:
    """Capped exponential backoff with full jitter, in seconds."""
    return random.uniform(0, min(cap, 0.05 * 2**attempt))


async def retry_forever(action: Callable[[], Awaitable[T]], what: str, cap: float = 5.0) -> T:
    attempt = 0
    while True:
        try:
            return await action()
        except TRANSIENT as exc:
            attempt += 1
            delay = backoff(attempt, cap)
            log.warning("%s failed (%r); retry %d in %.2fs", what, exc, attempt, delay)
            await asyncio.sleep(delay)


def latest_by(records: Sequence[T], key: str) -> list[T]:
    """The last record for each key, in first-seen order (a batch may repeat a key)."""
    latest = {getattr(r, key): r for r in records}
    return list(latest.values())


async def dead_letter(pool: asyncpg.Pool, topic: str, record: Any, reason: str) -> None:
    payload = record.asdict() if isinstance(record, faust.Record) else record
    key = str(payload.get("id", "")) if isinstance(payload, dict) else None
    log.error("dead letter on %s (%s): %s", topic, key, reason)
    await retry_forever(
        lambda: pool.execute(queries.INSERT_DEAD_LETTER, topic, key, payload, reason[:2000]), "dead letter"
    )


async def guarded(pool: asyncpg.Pool, topic: str, record: Any, action: Callable[[], Awaitable[Any]]) -> None:
    """Runs an agent's work on one record, retrying outages. Any other failure sends the record
    to `dead_letters` with its reason instead of raising: Faust would ack it and lose it."""
    try:
        await retry_forever(action, f"record on {topic}")
    except Exception as exc:  # noqa: BLE001 - every failure is kept, never dropped
        await dead_letter(pool, topic, record, f"{type(exc).__name__}: {exc}")


async def store(pool: asyncpg.Pool, topic: str, batch: Sequence[T], write: Write[T]) -> None:
    """Writes `batch` with `write(conn, batch)` in one transaction; never raises."""

    async def attempt(part: Sequence[T]) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await write(conn, part)

    async def split(part: Sequence[T]) -> None:
        try:
            await retry_forever(lambda: attempt(part), f"write to {topic}")
        except (asyncpg.PostgresError, Rejected, ValueError, TypeError, KeyError) as exc:
            if len(part) == 1:
                await dead_letter(pool, topic, part[0], f"{type(exc).__name__}: {exc}")
                return
            middle = len(part) // 2
            await split(part[:middle])
            await split(part[middle:])

    if batch:
        await split(batch)
