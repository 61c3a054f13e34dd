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
the worker died in between). What a change costs depends on that customer alone. The same
worker's timers are in `journey_timers`.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg

from minicrm import exclusions, journeys, metrics, rules, sizing, sql, templating, topics, verdicts
from minicrm.journeys import QuietHours
from minicrm.records import DeliveryBatch, delivery
from minicrm.rule_index import RuleIndex
from minicrm.streams.app import app, settings
from minicrm.streams.batching import guarded, retry_forever
from minicrm.streams.resources import pool

log = logging.getLogger(__name__)
changes_topic = app.topic_of(topics.CHANGES)
deliveries_topic = app.topic_of(topics.DELIVERIES)
CHANGES_PER_TAKE = 50  # records; each holds up to an ingest batch's customers
TAKE_WITHIN = 0.02  # seconds a partition's changes wait for more: this is on the trigger's path


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
