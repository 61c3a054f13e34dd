"""Live segments and journeys: a worker of their own (`MINICRM_WORKER_ROLES=journeys`).

Ingest announces, after each batch commits, whose stored data changed (`streams.changes`).
This worker takes each customer announced, reads them as PostgreSQL has them now (the
customer's attributes and the daily buckets of their orders that the rules' windows need:
`sql.facts`), and evaluates every live journey's rules on them (`verdicts`, the SQL compiler's
verdict computed in the worker). For an `enters_segment` journey, a customer who matches and is
not a member joins and enters; one who no longer matches leaves. For an `order_placed` journey,
each placed order whose customer matches enters. The membership changes, the entries and the
messages of those due at once are written in one transaction that holds the customers' locks,
so a change announced twice, a replayed batch or a worker killed half-way enters nobody twice;
the messages are published to the fan-out after it commits (and published again by a sweep if
the worker died in between). What a change costs depends on that customer alone.

Timers: a journey's start (its present members recorded, and entered with `includeExisting`),
the entries that fall due (delays, quiet hours; re-checked then), and midnight (UTC), when time
alone moves rules: the customers with an order or a last order date on the day a window or a
`last_order_date` boundary moved past are announced again, found by index, so the cost is the
day's orders, not the customers.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg

from minicrm import campaign_states as states
from minicrm import exclusions, journeys, metrics, rules, sizing, sql, templating, topics, verdicts
from minicrm.journeys import QuietHours
from minicrm.records import DeliveryBatch, delivery
from minicrm.rule_index import RuleIndex
from minicrm.sql.locks import Lock
from minicrm.streams import changes, timers
from minicrm.streams.app import app, settings
from minicrm.streams.batching import guarded, retry_forever
from minicrm.streams.resources import pool

log = logging.getLogger(__name__)
changes_topic = app.topic_of(topics.CHANGES)
deliveries_topic = app.topic_of(topics.DELIVERIES)
CHANGES_PER_TAKE = 50  # records; each holds up to an ingest batch's customers
TAKE_WITHIN = 0.02  # seconds a partition's changes wait for more: this is on the trigger's path
DUE_BATCH = 2_000
REPUBLISH_AFTER = 10.0  # seconds a QUEUED entry may wait for its publication before it is published again
MIDNIGHT_CHUNK = 5_000


@dataclass(frozen=True)
class Journey:
    id: UUID
    trigger: str
    group: rules.Group
    message: str
    delay_seconds: int
    reentry: str
    cooldown_days: int
    quiet: QuietHours | None
    status: str

    @property
    def active(self) -> bool:
        return self.status == journeys.ACTIVE


_parsed: dict[UUID, rules.Group] = {}  # rule trees never change: each parsed once


def journey_of(row: asyncpg.Record) -> Journey:
    group = _parsed.get(row["id"])
    if group is None:
        group = _parsed[row["id"]] = rules.parse(row["rule_group"])
    return Journey(
        row["id"],
        row["trigger_type"],
        group,
        row["message"],
        row["delay_seconds"],
        row["reentry"],
        row["cooldown_days"],
        QuietHours.from_json(row["quiet_hours"]),
        row["status"],
    )


async def live_journeys(db: sql.planning.Db) -> list[Journey]:
    """Read for every batch: a journey started, paused or deleted a moment ago counts at once."""
    return [journey_of(r) for r in await sql.journeys.live(db)]


@dataclass(frozen=True)
class Candidate:
    journey: Journey
    customer_id: UUID
    order_id: str | None
    triggered_at: datetime | None  # when the edge accepted the order that made it


class Due(NamedTuple):
    """An entry whose message is due."""

    entry: UUID
    journey: Journey
    customer_id: UUID
    triggered_at: datetime | None


class Message(NamedTuple):
    """A due entry's log row (`sql.journeys.write_messages`'s columns first)."""

    id: UUID
    journey_id: UUID
    customer_id: UUID
    name: str
    email: str
    phone: str | None
    text: str
    skipped: str | None  # why it is not sent: opted out, over the cap
    city: str | None
    spend: Any
    triggered_at: datetime | None


@app.agent(changes_topic, isolated_partitions=True)  # partitions in parallel, each in order
async def follow_changes(stream):
    async for batch in stream.take(CHANGES_PER_TAKE, within=TAKE_WITHIN):
        items = [change for record in batch for change in record.changes]
        db = await pool()
        await guarded(db, changes_topic.get_topic_name(), {"changes": items}, lambda: on_changes(db, items))


async def on_changes(db: asyncpg.Pool, items: list[dict[str, Any]]) -> None:
    live = await live_journeys(db)
    if not live:
        return
    ids = {UUID(c["customer_id"]) for c in items if c.get("customer_id")}
    emails = [c["email"] for c in items if c.get("email")]
    if emails:
        ids.update(await sql.journeys.ids_of_emails(db, emails))
    orders = {c["order_id"]: c for c in items if c.get("order_id")}
    accepted = {}
    for c in items:
        if c.get("customer_id") and c.get("accepted_at"):
            accepted[UUID(c["customer_id"])] = datetime.fromtimestamp(c["accepted_at"], UTC)
    started = time.perf_counter()
    async with db.acquire() as conn, sql.planning.planned(conn, sql.planning.BY_KEY):  # each row by its key
        messages = await evaluate(conn, live, sorted(ids), orders, accepted)
    metrics.JOURNEY_BATCH_SECONDS.observe(time.perf_counter() - started)
    await publish(db, messages)


async def evaluate(
    conn: asyncpg.Connection,
    live: list[Journey],
    ids: list[UUID],
    orders: dict[str, dict[str, Any]],
    accepted: dict[UUID, datetime],
) -> list[Message]:
    """Moves the customers `ids` in and out of the journeys' segments and enters them; returns the
    messages to publish. In the caller's transaction, which holds the customers' locks."""
    now = await sql.journeys.lock_customers(conn, ids)
    facts = await sql.facts.of(conn, ids, max((verdicts.horizon(j.group) for j in live), default=0))
    index = index_of(tuple(live))
    matched = {
        (j.id, customer_id)
        for customer_id, f in facts.items()
        for j, group in index.candidates(f)
        if verdicts.evaluate(group, f, now)
    }
    by_id = {j.id: j for j in live}
    candidates: list[Candidate] = []
    segment = {j.id for j in live if j.trigger == journeys.ENTERS_SEGMENT}
    if segment:
        members = await sql.journeys.members(conn, list(segment), list(facts))
        joins = sorted(p for p in matched if p[0] in segment and p not in members)
        joined = await sql.journeys.move(conn, joins, sorted(members - matched))
        candidates += [
            Candidate(by_id[jid], cid, None, accepted.get(cid)) for jid, cid in sorted(joined) if by_id[jid].active
        ]
    placing = [j for j in live if j.trigger == journeys.ORDER_PLACED and j.active]
    if placing and orders:
        for order in await sql.journeys.placed_orders(conn, list(orders)):
            at = orders[order["id"]].get("accepted_at")
            triggered = datetime.fromtimestamp(at, UTC) if at else None
            candidates += [
                Candidate(j, order["customer_id"], order["id"], triggered)
                for j in placing
                if (j.id, order["customer_id"]) in matched
            ]
    return await enter(conn, candidates, now)


@functools.lru_cache(maxsize=4)
def index_of(live: tuple[Journey, ...]) -> RuleIndex[Journey]:
    """The live journeys filed by what their rules require (made again when they change)."""
    return RuleIndex((j, j.group) for j in live)


async def enter(conn: asyncpg.Connection, candidates: list[Candidate], now: datetime) -> list[Message]:
    """Records the candidates' entries (or why not), and queues the messages of those due now."""
    if not candidates:
        return []
    last = await sql.journeys.last_entries(conn, [(c.journey.id, c.customer_id) for c in candidates])
    rows, due_now = [], []
    for c in candidates:
        key = (c.journey.id, c.customer_id)
        reason = journeys.refusal(c.journey.reentry, c.journey.cooldown_days, last.get(key), now)
        due = journeys.due_at(now, c.journey.delay_seconds, None)  # quiet hours: when due (`queue`)
        entry = uuid.uuid4()
        rows.append(
            (
                entry,
                c.journey.id,
                c.customer_id,
                c.order_id,
                c.triggered_at,
                due,
                journeys.SKIPPED if reason else journeys.WAITING,
                reason,
            )
        )
        if reason is None:
            last[key] = now
            if due <= now:
                due_now.append(Due(entry, c.journey, c.customer_id, c.triggered_at))
    inserted = await sql.journeys.enter(conn, rows)
    metrics.JOURNEY_ENTRIES.labels(journeys.WAITING).inc(sum(r[6] == journeys.WAITING for r in rows))
    metrics.JOURNEY_ENTRIES.labels(journeys.SKIPPED).inc(sum(r[6] == journeys.SKIPPED for r in rows))
    return await queue(conn, [d for d in due_now if d.entry in inserted], now)


async def queue(conn: asyncpg.Connection, entries: Sequence[Due], now: datetime) -> list[Message]:
    """Writes the log rows of entries that are due (PENDING, or SKIPPED: opted out, over the cap);
    an entry inside its quiet hours waits for their end. Returns the messages to publish."""
    if not entries:
        return []
    skip, skip_params = exclusions.skip_reason(settings.cap, 2)
    customers = {
        r["id"]: r
        for r in await sql.journeys.recipients(conn, sorted({d.customer_id for d in entries}), skip, skip_params)
    }
    held, messages = [], []
    for d in entries:
        c = customers.get(d.customer_id)
        if c is None:
            continue
        if d.journey.quiet is not None:
            release = d.journey.quiet.release(now, c["timezone"])
            if release > now:
                held.append((d.entry, release))
                continue
        text = "" if c["skipped"] else templating.render(d.journey.message, c)
        messages.append(
            Message(
                d.entry,
                d.journey.id,
                d.customer_id,
                c["name"],
                c["email"],
                c["phone"],
                text,
                c["skipped"],
                c["city"],
                c["total_spend"],
                d.triggered_at,
            )
        )
    await sql.journeys.reschedule(conn, [e for e, _ in held], [r for _, r in held])
    await sql.journeys.write_messages(conn, [m[:10] for m in messages])
    return [m for m in messages if m.skipped is None]


async def publish(db: asyncpg.Pool, messages: Sequence[Message]) -> None:
    """Publishes the messages to the fan-out, a batch per journey, then marks their entries MESSAGED."""
    if not messages:
        return
    by_journey: dict[UUID, list[dict[str, Any]]] = {}
    for m in messages:
        by_journey.setdefault(m.journey_id, []).append(
            delivery(m.id, m.journey_id, m.customer_id, m.name, m.email, m.phone, m.text)
        )
    for journey_id, deliveries in by_journey.items():
        for part, value in sizing.fit(
            deliveries,
            lambda part: DeliveryBatch.encode(campaign_id=str(journey_id), deliveries=part),
            settings.max_record_bytes,
        ):
            await deliveries_topic.send(key=f"{journey_id}:{part[-1]['customerId']}", value=value)
    await retry_forever(lambda: sql.journeys.messaged(db, [m.id for m in messages]), "entries messaged")
    published = time.time()
    for m in messages:
        if m.triggered_at is not None:
            metrics.JOURNEY_TRIGGER_SECONDS.observe(published - m.triggered_at.timestamp())


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
