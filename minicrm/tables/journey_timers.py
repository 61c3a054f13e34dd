"""The journeys worker's timers (`tables.journeys` holds its stream): a journey's start (its
present members recorded, and entered with `includeExisting`), the entries that fall due (delays,
quiet hours; re-checked then), messages whose publication a dead worker left undone, and midnight
(UTC), when time alone moves rules: the customers with an order or a last order date on the day a
window or a `last_order_date` boundary moved past are announced again, found by index, so the
cost is the day's orders, not the customers. Each runs under an advisory lock, on one worker at a time.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from minicrm import campaign_states as states
from minicrm import journeys, rules, sql, verdicts
from minicrm.sql.locks import Lock
from minicrm.streams import changes, timers
from minicrm.streams.app import app
from minicrm.streams.resources import pool
from minicrm.tables.journeys import Due, Message, live_journeys, publish, queue

DUE_BATCH = 2_000
REPUBLISH_AFTER = 10.0  # seconds a QUEUED entry may wait for its publication before it is published again
MIDNIGHT_CHUNK = 5_000


@app.timer(1.0)
async def start_journeys() -> None:
    await timers.exclusive(Lock.START_JOURNEYS, "starting journeys", start)


async def start(conn: asyncpg.Connection) -> None:
    """Records each new journey's present members (and enters them, with `includeExisting`)."""
    for row in await sql.journeys.unstarted(conn):
        condition, params = rules.compile_tree(row["rule_group"], first_param=2)
        async with conn.transaction():
            await sql.journeys.start(
                conn,
                row["id"],
                condition,
                params,
                members=row["trigger_type"] == journeys.ENTERS_SEGMENT,
                include_existing=row["include_existing"],
            )


@app.timer(0.5)
async def send_due() -> None:
    await timers.exclusive(Lock.SEND_DUE_ENTRIES, "sending due journey entries", due)


async def due(conn: asyncpg.Connection) -> None:
    """Queues the messages of entries that fell due: those of active journeys, whose customer
    (for a segment's journey) is still in the segment; the others are skipped."""
    db = await pool()
    while True:
        live = {j.id: j for j in await live_journeys(conn)}
        async with sql.planning.planned(conn, sql.planning.BY_KEY):
            rows = await sql.journeys.due(conn, DUE_BATCH)
            if not rows:
                return
            now = await sql.journeys.lock_customers(conn, [r["customer_id"] for r in rows])
            segment = [j for j in live.values() if j.trigger == journeys.ENTERS_SEGMENT]
            members = await sql.journeys.members(conn, [j.id for j in segment], [r["customer_id"] for r in rows])
            left = {
                r["id"]
                for r in rows
                if live[r["journey_id"]].trigger == journeys.ENTERS_SEGMENT
                and (r["journey_id"], r["customer_id"]) not in members
            }
            await sql.journeys.skip(conn, sorted(left), journeys.LEFT_SEGMENT)
            staying = [
                Due(r["id"], live[r["journey_id"]], r["customer_id"], r["triggered_at"])
                for r in rows
                if r["id"] not in left
            ]
            messages = await queue(conn, staying, now)
        await publish(db, messages)
        if len(rows) < DUE_BATCH:
            return


@app.timer(5.0)
async def republish() -> None:
    await timers.exclusive(Lock.REPUBLISH_ENTRIES, "publishing queued journey messages again", publish_lost)


async def publish_lost(conn: asyncpg.Connection) -> None:
    """Publishes the messages of entries still QUEUED well after they were queued: their worker
    died between the commit and the publication (a message published twice has one id, which
    the vendor's idempotency and the receipts' fold absorb)."""
    rows = await sql.journeys.unpublished(conn, REPUBLISH_AFTER, DUE_BATCH)
    pending = [
        Message(
            r["id"],
            r["campaign_id"],
            r["customer_id"],
            r["customer_name"],
            r["email"],
            r["phone"],
            r["personalized_msg"],
            None,
            None,
            None,
            None,
        )
        for r in rows
        if r["status"] == states.PENDING
    ]
    await publish(await pool(), pending)
    await sql.journeys.messaged(conn, [r["entry_id"] for r in rows if r["status"] != states.PENDING])


@app.timer(5.0)  # reads one row, then acts once a day
async def midnight() -> None:
    await timers.exclusive(Lock.JOURNEYS_MIDNIGHT, "re-evaluating at midnight", at_midnight)


async def at_midnight(conn: asyncpg.Connection) -> None:
    """Announces the customers whose verdict time alone may have changed since the last day handled."""
    last, today = await sql.journeys.clock(conn)
    if last is not None and last < today:
        horizons = {
            n
            for j in await live_journeys(conn)
            if j.trigger == journeys.ENTERS_SEGMENT
            for n in verdicts.boundary_days(j.group)
        }
        for day in (last + timedelta(days=d) for d in range(1, (today - last).days + 1)):
            for n in sorted(horizons):
                ids = await sql.journeys.on_days(conn, day - timedelta(days=n + 1), day - timedelta(days=n))
                for i in range(0, len(ids), MIDNIGHT_CHUNK):
                    await changes.announce([{"customer_id": str(c)} for c in ids[i : i + MIDNIGHT_CHUNK]])
    if last != today:
        await sql.journeys.set_clock(conn, today)
