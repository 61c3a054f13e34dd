"""The one batching writer every agent uses, and the one policy for what is retried.

A batch is written in one transaction. Faust acks a record whether or not the agent
raised, so nothing here raises: an outage (`is_transient`) is retried with capped
backoff until it passes; any other failure is final for the records it concerns. A
batch that fails finally is split in halves until the records it cannot store are
found; each goes to `dead_letters` with its reason, and the rest are written.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import asyncpg
import faust
import orjson

from minicrm import metrics, sql
from minicrm.outages import is_transient

T = TypeVar("T")
Write = Callable[[asyncpg.Connection, Sequence[T]], Awaitable[Any]]
log = logging.getLogger(__name__)


class Rejected(Exception):
    """A record the pipeline will not store, with the reason for the dead-letter table."""


def backoff(attempt: int, cap: float) -> float:
    """Capped exponential backoff with full jitter, in seconds."""
    return random.uniform(0, min(cap, 0.05 * 2**attempt))


async def retry_forever(action: Callable[[], Awaitable[T]], what: str, cap: float = 5.0) -> T:
    """Runs `action` until it returns; transient failures are retried, others raised."""
    attempt = 0
    while True:
        try:
            return await action()
        except Exception as exc:
            if not is_transient(exc, attempt):
                raise
            attempt += 1
            delay = backoff(attempt, cap)
            log.warning("%s failed (%r); retry %d in %.2fs", what, exc, attempt, delay)
            await asyncio.sleep(delay)


# An ingest agent writes the records a partition has ready together, up to this many: an HTTP
# array of 1,000 is split over the partitions, and a transaction of a quarter of it paid its
# fixed costs four times (docs/performance.md). Fewer ready records wait at most TAKE_WITHIN
# seconds for more: Faust's take() wakes each partition's actor that often even when idle, and
# a shorter wait costs an idle worker a noticeable share of a core.
RECORDS_PER_WRITE = 4
TAKE_WITHIN = 0.1


async def ready_items(stream: Any, items: Callable[[Any], Sequence[T]]) -> AsyncIterator[tuple[int, list[T]]]:
    """(how many records, their items) of the records `stream` has ready, several at a time
    (Faust acks them once the next group is asked for, that is once these are stored)."""
    async for records in stream.take(RECORDS_PER_WRITE, within=TAKE_WITHIN):
        yield len(records), [item for record in records for item in items(record)]


def latest_by(records: Sequence[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """The last record for each key, in first-seen order (a batch may repeat a key)."""
    latest = {r[key]: r for r in records}
    return list(latest.values())


def storable(text: str) -> str:
    """Text PostgreSQL can store: NUL is the one character it refuses, kept visible as an escape."""
    return text.replace("\x00", "\\u0000")


def payload_text(record: Any) -> str:
    """The record as JSON text, whatever it holds. Stored as text, not jsonb: jsonb refuses
    \\u0000, and a dead letter must always be storable, exactly as it was on the topic."""
    if isinstance(record, faust.Record):
        return record.dumps().decode()  # the wire form, as it was (or would be) on the topic
    try:
        return orjson.dumps(record, default=repr).decode()
    except (TypeError, orjson.JSONEncodeError):  # e.g. an integer past 64 bits
        return orjson.dumps({"unserialisable": repr(record)}).decode()


def reason_of(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def key_of(record: Any) -> str | None:
    """The id that names a record in `dead_letters`: its own id, or its campaign's."""
    payload = record.asdict() if isinstance(record, faust.Record) else record
    if not isinstance(payload, dict):
        return None
    key = payload.get("id") or payload.get("campaign_id")
    return None if key is None else storable(str(key))[:200]


async def dead_letter(pool: asyncpg.Pool, topic: str, record: Any, reason: str, key: str | None = None) -> None:
    """Keeps `record` (in the form it had on `topic`) with the reason it could not be stored."""
    key = key or key_of(record)
    log.error("dead letter on %s (%s): %s", topic, key, reason)
    metrics.DEAD_LETTERS.labels(topic).inc()
    await retry_forever(
        lambda: sql.dead_letters.insert(pool, topic, key, payload_text(record), storable(reason)[:2000]),
        "dead letter",
    )


async def guarded(
    pool: asyncpg.Pool,
    topic: str,
    record: Any,
    action: Callable[[], Awaitable[Any]],
    on_dead: Callable[[str], Awaitable[Any]] | None = None,
    records: int = 1,
) -> None:
    """Runs an agent's work on one record (standing for `records` Kafka records when an agent
    merged several), retrying outages. Any other failure sends the record to `dead_letters` with
    its reason instead of raising (Faust would ack it and lose it), then runs `on_dead(reason)`
    so that whatever waited on the record can end."""
    metrics.RECORDS_CONSUMED.labels(topic).inc(records)
    try:
        await retry_forever(action, f"record on {topic}")
    except Exception as exc:  # noqa: BLE001 - every failure is kept, never dropped
        reason = reason_of(exc)
        await dead_letter(pool, topic, record, reason)
        if on_dead is not None:
            try:
                await retry_forever(lambda: on_dead(reason), f"ending what waited on a record of {topic}")
            except Exception:
                log.exception("could not end what waited on a dead-lettered record of %s", topic)


async def store(
    pool: asyncpg.Pool, topic: str, batch: Sequence[T], write: Write[T], wrap: Callable[[list[T]], Any]
) -> None:
    """Writes `batch` with `write(conn, batch)` in one transaction (`sql.planning.by_key`); never raises.
    A record that cannot be stored is dead-lettered as `wrap([record])`, the form it would have
    on `topic`, so that replaying it publishes exactly that."""

    async def attempt(part: Sequence[T]) -> None:
        started = time.perf_counter()
        async with sql.planning.by_key(pool) as conn:
            await write(conn, part)
        metrics.BATCH_WRITE_SECONDS.labels(topic).observe(time.perf_counter() - started)
        metrics.ITEMS_STORED.labels(topic).inc(len(part))

    async def split(part: Sequence[T]) -> None:
        try:
            await retry_forever(lambda: attempt(part), f"write to {topic}")
        except Exception as exc:  # noqa: BLE001 - the policy above decided it is final
            if len(part) == 1:
                await dead_letter(pool, topic, wrap(list(part)), reason_of(exc), key_of(part[0]))
                return
            middle = len(part) // 2
            await split(part[:middle])
            await split(part[middle:])

    if batch:
        await split(batch)
