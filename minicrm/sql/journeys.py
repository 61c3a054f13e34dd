"""Journeys: their rows, their members, their entries, and the log rows of their messages.

A journey's messages are log rows of the campaign row with the journey's id (made with the
journey, RUNNING and not segmented while the journey runs, so the receipts never complete
it); the rows are written here and counted in that campaign as segmentation counts its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from minicrm import campaign_states as states
from minicrm import journeys
from minicrm.order_effects import COMPLETED
from minicrm.sql.errors import NotFound
from minicrm.sql.locks import Lock
from minicrm.sql.planning import Db

CREATE = """
INSERT INTO journeys (id, user_id, name, trigger_type, rule_group, message, delay_seconds, reentry, cooldown_days,
                      quiet_hours, include_existing, status)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
"""

COLUMNS = (
    "j.id, j.user_id, j.name, j.trigger_type, j.rule_group, j.message, j.delay_seconds, j.reentry, "
    "j.cooldown_days, j.quiet_hours, j.include_existing, j.status, j.started_at, j.created_at, j.deleted_at"
)

EXISTS = "SELECT EXISTS (SELECT 1 FROM journeys WHERE id = $1)"

# Journeys the worker evaluates: started, not deleted (a paused one keeps its members, enters nobody).
LIVE = f"SELECT {COLUMNS} FROM journeys j WHERE j.status <> '{journeys.DELETED}' AND j.started_at IS NOT NULL"

UNSTARTED = f"SELECT {COLUMNS} FROM journeys j WHERE j.status <> '{journeys.DELETED}' AND j.started_at IS NULL"

# A journey's start: its present members recorded ({condition} over customers `c`, values from $2),
# and entered, when it includes them, WAITING and due at once.
RECORD_MEMBERS = """
INSERT INTO journey_members (journey_id, customer_id)
SELECT $1::uuid, c.id FROM customers c WHERE {condition}
ON CONFLICT DO NOTHING
"""
ENTER_EXISTING = f"""
INSERT INTO journey_entries (id, journey_id, customer_id, due_at, status)
SELECT gen_random_uuid(), $1::uuid, c.id, now(), '{journeys.WAITING}' FROM customers c WHERE {{condition}}
"""
STARTED = "UPDATE journeys SET started_at = now() WHERE id = $1 AND started_at IS NULL"

ONE = f"""
SELECT {COLUMNS},
       cp.pending_count, cp.sent_count, cp.failed_count, cp.suppressed_count, cp.capped_count,
       (SELECT count(*) FROM journey_entries e WHERE e.journey_id = j.id)::int AS entered_count,
       (SELECT count(*) FROM journey_entries e
        WHERE e.journey_id = j.id AND e.status = '{journeys.WAITING}')::int AS waiting_count,
       (SELECT coalesce(jsonb_object_agg(reason, n), '{{}}') FROM (
            SELECT e.reason, count(*) AS n FROM journey_entries e
            WHERE e.journey_id = j.id AND e.status = '{journeys.SKIPPED}' GROUP BY e.reason) r) AS skipped,
       (SELECT max(e.entered_at) FROM journey_entries e WHERE e.journey_id = j.id) AS last_entry_at
FROM journeys j JOIN campaigns cp ON cp.id = j.id
WHERE j.id = $1 AND ($2::text IS NULL OR j.user_id = $2)
"""

OF_USER = f"""
SELECT {COLUMNS} FROM journeys j WHERE ($1::text IS NULL OR j.user_id = $1) ORDER BY j.created_at DESC LIMIT 1000
"""

SET_STATUS = f"""
UPDATE journeys SET status = $3, deleted_at = CASE WHEN $3 = '{journeys.DELETED}' THEN now() END
WHERE id = $1 AND ($2::text IS NULL OR user_id = $2) AND status <> '{journeys.DELETED}'
RETURNING id
"""

# A deleted journey enters nobody; what waited is skipped, and its campaign, segmented now, completes
# once its messages have their outcomes (at once when none is pending: the caller publishes its summary).
ENDED = f"""
WITH skipped AS (
    UPDATE journey_entries SET status = '{journeys.SKIPPED}', reason = '{journeys.JOURNEY_DELETED}'
    WHERE journey_id = $1 AND status = '{journeys.WAITING}'
)
UPDATE campaigns SET segmented_at = now(), completed_at = CASE WHEN pending_count = 0 THEN now() END
WHERE id = $1 AND segmented_at IS NULL
RETURNING pending_count = 0 AS delivered
"""

# The customers of `$1` locked for this transaction, in id order (so two transactions never wait
# on each other in a circle); then the transaction's time.
LOCK_CUSTOMERS = f"""
SELECT now() FROM (
    SELECT count(pg_advisory_xact_lock({Lock.JOURNEY_CUSTOMER:d}, hashtext(id::text)))
    FROM (SELECT DISTINCT id FROM unnest($1::uuid[]) AS t(id) ORDER BY id) ids
) locked
"""

IDS_OF_EMAILS = "SELECT id FROM customers WHERE email = ANY($1::text[])"

PLACED_ORDERS = f"""
SELECT id, customer_id FROM orders WHERE id = ANY($1::text[]) AND status IN {states.sql_list(journeys.PLACED)}
"""

MEMBERS = """
SELECT journey_id, customer_id FROM journey_members
WHERE journey_id = ANY($1::uuid[]) AND customer_id = ANY($2::uuid[])
"""

# Members who left ($3, $4) deleted, and who joined ($1, $2) inserted: those not members already
# are returned (they enter).
MOVE = """
WITH left_them AS (
    DELETE FROM journey_members m USING unnest($3::uuid[], $4::uuid[]) AS t(journey_id, customer_id)
    WHERE m.journey_id = t.journey_id AND m.customer_id = t.customer_id
)
INSERT INTO journey_members (journey_id, customer_id)
SELECT * FROM unnest($1::uuid[], $2::uuid[])
ON CONFLICT DO NOTHING
RETURNING journey_id, customer_id
"""

# Each (journey, customer)'s last entry that was not skipped.
LAST_ENTRIES = f"""
SELECT e.journey_id, e.customer_id, max(e.entered_at) AS at
FROM journey_entries e JOIN unnest($1::uuid[], $2::uuid[]) AS t(journey_id, customer_id)
  ON e.journey_id = t.journey_id AND e.customer_id = t.customer_id
WHERE e.status <> '{journeys.SKIPPED}'
GROUP BY e.journey_id, e.customer_id
"""

# Entries, into journeys still active; an order's second entry into one journey is none (a replayed order).
ENTER = f"""
INSERT INTO journey_entries (id, journey_id, customer_id, order_id, triggered_at, due_at, status, reason)
SELECT t.* FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[], $6::timestamptz[],
                       $7::text[], $8::text[]) AS t(id, journey_id, customer_id, order_id, triggered_at, due_at, status,
                                                    reason)
JOIN journeys j ON j.id = t.journey_id AND j.status = '{journeys.ACTIVE}'
ON CONFLICT DO NOTHING
RETURNING id
"""

# Entries due, oldest first, taken by this transaction alone.
DUE = f"""
SELECT e.id, e.journey_id, e.customer_id, e.due_at, e.triggered_at
FROM journey_entries e JOIN journeys j ON j.id = e.journey_id
WHERE e.status = '{journeys.WAITING}' AND e.due_at <= now() AND j.status = '{journeys.ACTIVE}'
ORDER BY e.due_at
LIMIT $1
FOR UPDATE OF e SKIP LOCKED
"""

RESCHEDULE = (
    "UPDATE journey_entries SET due_at = t.due FROM unnest($1::uuid[], $2::timestamptz[]) AS t(id, due) "
    "WHERE journey_entries.id = t.id"
)

# Customers as the message needs them, with why they are not to be messaged ({skip}, values from $2).
RECIPIENTS = """
SELECT c.id, c.name, c.email, c.phone, c.city, c.total_spend, c.timezone, {skip} AS skipped
FROM customers c WHERE c.id = ANY($1::uuid[])
"""

# Log rows of messages (PENDING, or SKIPPED with the reason), counted in their journeys' campaigns,
# and their entries QUEUED or SKIPPED, in one statement.
WRITE_MESSAGES = f"""
WITH m AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[],
                         $8::text[], $9::text[], $10::numeric[])
        AS t(id, campaign_id, customer_id, customer_name, email, phone, personalized_msg, reason, city, spend)
), inserted AS (
    INSERT INTO communication_log (id, campaign_id, customer_id, customer_name, email, phone, personalized_msg,
                                   status, reason, city, spend)
    SELECT id, campaign_id, customer_id, customer_name, email, phone, personalized_msg,
           CASE WHEN reason IS NULL THEN '{states.PENDING}' ELSE '{states.SKIPPED}' END, reason, city, spend
    FROM m
    ON CONFLICT (id) DO NOTHING
    RETURNING id, campaign_id, status, reason
), counted AS (
    UPDATE campaigns c
    SET pending_count = pending_count + n.pending,
        audience_size = coalesce(audience_size, 0) + n.pending,
        suppressed_count = suppressed_count + n.suppressed,
        capped_count = capped_count + n.capped
    FROM (SELECT campaign_id,
                 count(*) FILTER (WHERE status = '{states.PENDING}')::int AS pending,
                 count(*) FILTER (WHERE reason = '{states.OPTED_OUT}')::int AS suppressed,
                 count(*) FILTER (WHERE reason = '{states.FREQUENCY_CAPPED}')::int AS capped
          FROM inserted GROUP BY campaign_id) n
    WHERE c.id = n.campaign_id
)
UPDATE journey_entries e
SET status = CASE WHEN m.reason IS NULL THEN '{journeys.QUEUED}' ELSE '{journeys.SKIPPED}' END,
    reason = m.reason, due_at = now()
FROM m WHERE e.id = m.id
"""

SKIP = "UPDATE journey_entries SET status = $3, reason = $2 WHERE id = ANY($1::uuid[])"

MESSAGED = f"UPDATE journey_entries SET status = '{journeys.MESSAGED}' WHERE id = ANY($1::uuid[])"

# Entries whose publication may have been lost (QUEUED well after they were queued), with their messages.
UNPUBLISHED = f"""
SELECT e.id AS entry_id, l.id, l.campaign_id, l.customer_id, l.customer_name, l.email, l.phone, l.personalized_msg,
       l.status
FROM journey_entries e JOIN communication_log l ON l.id = e.id
WHERE e.status = '{journeys.QUEUED}' AND e.due_at < now() - make_interval(secs => $1)
ORDER BY e.due_at
LIMIT $2
"""

CLOCK = "SELECT day FROM journey_clock"
SET_CLOCK = """
INSERT INTO journey_clock (day) VALUES ($1)
ON CONFLICT (only_row) DO UPDATE SET day = excluded.day
"""
TODAY = "SELECT (now() AT TIME ZONE 'UTC')::date"

# Customers whose verdict may change at a midnight: an order of theirs, or their last order date,
# from the start of UTC day $1 to the end of UTC day $2 (the windows and the last_order_date
# boundaries of N days moved past such a day at the midnight, N or N + 1 days after it).
ON_DAYS = f"""
SELECT customer_id AS id FROM orders
WHERE order_date >= $1::date::timestamptz AND order_date <= ($2::date + 1)::timestamptz
  AND status = '{COMPLETED}'
UNION
SELECT id FROM customers
WHERE last_order_date >= $1::date::timestamptz AND last_order_date <= ($2::date + 1)::timestamptz
"""


async def create(conn: asyncpg.Connection, values: Sequence[Any]) -> None:
    await conn.execute(CREATE, *values)


async def exists(db: Db, journey_id: UUID) -> bool:
    return bool(await db.fetchval(EXISTS, journey_id))


async def live(db: Db) -> list[asyncpg.Record]:
    return await db.fetch(LIVE)


async def unstarted(db: Db) -> list[asyncpg.Record]:
    return await db.fetch(UNSTARTED)


async def start(
    conn: asyncpg.Connection, journey_id: UUID, condition: str, params: list[Any], members: bool, include_existing: bool
) -> None:
    """Records the journey's present members (for `members`: an enters_segment journey) and enters
    them (with `include_existing`), then marks it started; in the caller's transaction."""
    if members:
        await conn.execute(RECORD_MEMBERS.format(condition=condition), journey_id, *params)
    if include_existing:
        await conn.execute(ENTER_EXISTING.format(condition=condition), journey_id, *params)
    await conn.execute(STARTED, journey_id)


async def one(db: Db, journey_id: UUID, user_id: str | None) -> asyncpg.Record:
    found = await db.fetchrow(ONE, journey_id, user_id)
    if found is None:
        raise NotFound(f"journey {journey_id} not found")
    return found


async def of_user(db: Db, user_id: str | None) -> list[asyncpg.Record]:
    return await db.fetch(OF_USER, user_id)


async def set_status(conn: asyncpg.Connection, journey_id: UUID, user_id: str | None, status: str) -> bool:
    return await conn.fetchval(SET_STATUS, journey_id, user_id, status) is not None


async def end(conn: asyncpg.Connection, journey_id: UUID) -> bool:
    """Ends a deleted journey's campaign; True when nothing of it is pending (its summary is due)."""
    return bool(await conn.fetchval(ENDED, journey_id))


async def lock_customers(conn: asyncpg.Connection, ids: list[UUID]) -> datetime:
    """Locks the customers for the caller's transaction; returns its `now()`."""
    return await conn.fetchval(LOCK_CUSTOMERS, ids)


async def ids_of_emails(db: Db, emails: list[str]) -> list[UUID]:
    return [r["id"] for r in await db.fetch(IDS_OF_EMAILS, emails)]


async def placed_orders(conn: Db, order_ids: list[str]) -> list[asyncpg.Record]:
    return await conn.fetch(PLACED_ORDERS, order_ids)


async def members(conn: Db, journey_ids: list[UUID], customer_ids: list[UUID]) -> set[tuple[UUID, UUID]]:
    return {(r["journey_id"], r["customer_id"]) for r in await conn.fetch(MEMBERS, journey_ids, customer_ids)}


async def move(
    conn: asyncpg.Connection, joins: list[tuple[UUID, UUID]], leaves: list[tuple[UUID, UUID]]
) -> set[tuple[UUID, UUID]]:
    """Records who joined and who left; returns those of `joins` who were not members (the entries)."""
    if not joins and not leaves:
        return set()
    rows = await conn.fetch(
        MOVE, [j for j, _ in joins], [c for _, c in joins], [j for j, _ in leaves], [c for _, c in leaves]
    )
    return {(r["journey_id"], r["customer_id"]) for r in rows}


async def last_entries(conn: Db, pairs: list[tuple[UUID, UUID]]) -> dict[tuple[UUID, UUID], datetime]:
    if not pairs:
        return {}
    rows = await conn.fetch(LAST_ENTRIES, [j for j, _ in pairs], [c for _, c in pairs])
    return {(r["journey_id"], r["customer_id"]): r["at"] for r in rows}


async def enter(conn: asyncpg.Connection, entries: Sequence[tuple[Any, ...]]) -> set[UUID]:
    """Inserts entries `(id, journey, customer, order, triggered_at, due_at, status, reason)`;
    returns the ids inserted (an order already entered is not)."""
    if not entries:
        return set()
    columns = list(zip(*entries, strict=True))
    return {r["id"] for r in await conn.fetch(ENTER, *columns)}


async def due(conn: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    """Entries of active journeys that are due, taken by this transaction (a paused journey's wait)."""
    return await conn.fetch(DUE, limit)


async def reschedule(conn: asyncpg.Connection, ids: list[UUID], due_at: list[datetime]) -> None:
    if ids:
        await conn.execute(RESCHEDULE, ids, due_at)


async def recipients(conn: Db, customer_ids: list[UUID], skip: str, skip_params: list[Any]) -> list[asyncpg.Record]:
    return await conn.fetch(RECIPIENTS.format(skip=skip), customer_ids, *skip_params)


async def write_messages(conn: asyncpg.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Log rows `(id, journey, customer, name, email, phone, message, skip reason, city, spend)`."""
    if rows:
        await conn.execute(WRITE_MESSAGES, *(list(c) for c in zip(*rows, strict=True)))


async def skip(conn: asyncpg.Connection, ids: list[UUID], reason: str) -> None:
    if ids:
        await conn.execute(SKIP, ids, reason, journeys.SKIPPED)


async def messaged(db: Db, ids: list[UUID]) -> None:
    if ids:
        await db.execute(MESSAGED, ids)


async def unpublished(db: Db, older_than: float, limit: int) -> list[asyncpg.Record]:
    return await db.fetch(UNPUBLISHED, older_than, limit)


async def clock(db: Db) -> tuple[date | None, date]:
    """The last day handled at midnight, and today (UTC)."""
    return await db.fetchval(CLOCK), await db.fetchval(TODAY)


async def set_clock(db: Db, day: date) -> None:
    await db.execute(SET_CLOCK, day)


async def on_days(db: Db, first: date, last: date) -> list[UUID]:
    return [r["id"] for r in await db.fetch(ON_DAYS, first, last)]
