"""Dead letters: records the pipeline could not store, kept with the reason, and replayed."""

from __future__ import annotations

import asyncpg

from minicrm.sql.planning import Db

INSERT = """
INSERT INTO dead_letters (topic, key, payload, reason) VALUES ($1, $2, $3, $4)
"""

COLUMNS = "d.id, d.topic, d.key, d.payload, d.reason, d.created_at, d.replayed_at"

TO_REPLAY = """
SELECT id, topic, key, payload FROM dead_letters
WHERE replayed_at IS NULL AND ($1::text IS NULL OR topic = $1) AND ($2::bigint IS NULL OR id = $2)
ORDER BY id LIMIT $3
"""

LATEST = f"""
SELECT {COLUMNS} FROM dead_letters d
WHERE ($1::text IS NULL OR d.topic = $1) AND ($2::bigint IS NULL OR d.id = $2)
ORDER BY d.id DESC LIMIT $3
"""

MARK_REPLAYED = "UPDATE dead_letters SET replayed_at = now() WHERE id = ANY($1::bigint[])"

UNREPLAYED = "SELECT count(*) FROM dead_letters WHERE replayed_at IS NULL"


async def insert(db: Db, topic: str, key: str | None, payload: str, reason: str) -> str:
    return await db.execute(INSERT, topic, key, payload, reason)


async def latest(conn: Db, topic: str | None, letter_id: int | None, limit: int) -> list[asyncpg.Record]:
    """The newest dead letters, newest first: one (`letter_id`), or a topic's, or all."""
    return await conn.fetch(LATEST, topic, letter_id, limit)


async def to_replay(conn: Db, topic: str | None, letter_id: int | None, limit: int) -> list[asyncpg.Record]:
    """The dead letters not replayed yet, oldest first: one (`letter_id`), or a topic's, or all."""
    return await conn.fetch(TO_REPLAY, topic, letter_id, limit)


async def mark_replayed(conn: Db, letter_ids: list[int]) -> str:
    return await conn.execute(MARK_REPLAYED, letter_ids)


async def unreplayed(db: Db) -> int:
    return await db.fetchval(UNREPLAYED)
