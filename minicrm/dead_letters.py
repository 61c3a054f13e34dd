"""Dead letters: listing them, and replaying them onto their topic after a fix.

A dead letter's payload is the record as it was (or would be) on its topic, so a replay
publishes exactly that; every write downstream is idempotent, so replaying twice is safe.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer

from minicrm import kafka_clients, sql
from minicrm.settings import Settings
from minicrm.sql.planning import Db


def topic_name(settings: Settings, topic: str | None) -> str | None:
    """A topic as given (`orders`) or in full (`minicrm.orders`)."""
    if not topic or "." in topic:
        return topic
    return settings.topic(topic)


def shape(row: asyncpg.Record) -> dict[str, Any]:
    letter = dict(row)
    with contextlib.suppress(orjson.JSONDecodeError):  # else kept as the text it was
        letter["payload"] = orjson.loads(letter["payload"])
    return letter


async def latest(settings: Settings, topic: str | None, letter_id: int | None, limit: int) -> list[dict[str, Any]]:
    """The newest dead letters (one, or a topic's, or all), shaped as the API shows them."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        rows = await sql.dead_letters.latest(conn, topic_name(settings, topic), letter_id, limit)
    finally:
        await conn.close()
    return [shape(row) for row in rows]


Send = Callable[[list[tuple[str, bytes | None, bytes]]], Awaitable[None]]
"""Publishes (topic, key, value) records and returns once the broker has them all."""


async def replay_with(
    db: Db, send: Send, settings: Settings, topic: str | None, letter_id: int | None, limit: int
) -> list[int]:
    """Publishes dead letters not replayed yet (one, or a topic's, or all; oldest first, at most
    `limit`) back onto their topics with `send`, then marks them replayed; returns their ids."""
    rows = await sql.dead_letters.to_replay(db, topic_name(settings, topic), letter_id, limit)
    if rows:
        await send([(r["topic"], r["key"].encode() if r["key"] else None, r["payload"].encode()) for r in rows])
        await sql.dead_letters.mark_replayed(db, [r["id"] for r in rows])
    return [row["id"] for row in rows]


async def replay(
    settings: Settings, topic: str | None = None, letter_id: int | None = None, limit: int = 10_000
) -> list[int]:
    """`replay_with` on a connection and a producer of its own (the command line's)."""
    conn = await asyncpg.connect(settings.database_url)
    producer = AIOKafkaProducer(**kafka_clients.producer_options(settings))
    await producer.start()

    async def send(records: list[tuple[str, bytes | None, bytes]]) -> None:
        for name, key, value in records:
            await producer.send_and_wait(name, value, key=key)

    try:
        return await replay_with(conn, send, settings, topic, letter_id, limit)
    finally:
        await producer.stop()
        await conn.close()
