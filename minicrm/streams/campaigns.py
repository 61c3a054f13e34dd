"""Segmentation: a campaign request becomes log rows and delivery batches, a chunk at a time.

Each chunk of the audience (in customer id order) is written by PostgreSQL itself
(INSERT ... SELECT, so the audience never passes through this process) and its
deliveries are published while the next chunk is being written, so the vendor starts on
the first chunk while later ones are still being written. The campaign stays SEGMENTING,
and so cannot complete, until the last chunk is in. A replayed request writes nothing twice
(each chunk starts after the last customer written: `sql.segmentation.AUDIENCE_CHUNK`) and
resumes publication where `published_through` says.

Between chunks the campaign's state is read again: a cancelled one stops, a paused one
is still written but not published, and a resumed one (a new delivery epoch) publishes
what is pending again from the start. A resume re-publishes the request, which publishes
whatever is still pending once segmentation is over. Scheduled campaigns are started by
a timer when due.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import asdict
from uuid import UUID

import asyncpg

from minicrm import campaign_states as states
from minicrm import exclusions, experiments, rules, sizing, sql, templating, topics
from minicrm.records import CampaignDone, CampaignRequest, DeliveryBatch, delivery
from minicrm.sql.locks import Lock
from minicrm.streams import timers
from minicrm.streams.app import app, settings
from minicrm.streams.batching import guarded, retry_forever, storable
from minicrm.streams.resources import pool

log = logging.getLogger(__name__)
campaigns_topic = app.topic_of(topics.CAMPAIGNS)
deliveries_topic = app.topic_of(topics.DELIVERIES)
summaries_topic = app.topic_of(topics.SUMMARIES)
NIL = UUID(int=0)
MAX = UUID(int=2**128 - 1)
CHUNK = 20_000
FIRST_CHUNK = 2_000  # chunks double from this to CHUNK: the first messages go out at once
DUE_BATCH = 100


def audience_query(request: CampaignRequest) -> tuple[str, list]:
    """The chunk statement ($1 campaign, $2 limit) and the values of its fragments: the audience,
    who is skipped, who is held out, who waits for an A/B test's winner, each one's variant and
    message (holdout, variants and test cohort drawn by `experiments` from the campaign's seed)."""
    params: list = []

    def bind(value: object) -> str:
        params.append(value)
        return f"${2 + len(params)}"

    def rendered(message: str) -> str:
        expression, values = templating.sql_expression(message, first_param=3 + len(params))
        params.extend(values)
        return expression

    if request.resend_of:
        condition = sql.segmentation.resend_audience(3)
        params += [UUID(request.resend_of), list(request.resend_statuses or [])]
    else:
        condition, audience_params = rules.compile_tree(request.segment, first_param=3)
        params += audience_params
    skip, skip_params = exclusions.skip_reason(settings.cap, 3 + len(params), campaign="$1::uuid")
    params += skip_params

    @functools.cache  # bound where a draw first needs it: an unused parameter fails the statement
    def seed() -> str:
        return f"{bind(UUID(request.seed))}::uuid"

    def draw(salt: str) -> str:
        return experiments.bucket_sql(seed(), "c.id", salt)

    holdout = "FALSE"
    if request.holdout_percent:
        holdout = f"{draw(experiments.HOLDOUT)} < {bind(request.holdout_percent * 100)}"
    waiting = "FALSE"
    if request.ab_test:
        waiting = f"{draw(experiments.TEST_COHORT)} >= {bind(request.ab_test['testPercent'] * 100)}"
    if not request.variants:
        return sql.segmentation.audience_chunk(
            condition, rendered(request.message), skip, holdout, waiting, "NULL::text"
        ), params
    if request.resend_of:  # each customer's variant in the first campaign ($3), else the first variant
        variant = f"coalesce({sql.segmentation.FIRST_VARIANT}, {bind(request.variants[0]['name'])})"
    else:
        variant, variant_params = experiments.variant_sql(
            draw(experiments.VARIANT),
            [v["name"] for v in request.variants],
            [v["weight"] for v in request.variants],
            3 + len(params),
        )
        params += variant_params
    cases = " ".join(f"WHEN {bind(v['name'])} THEN {rendered(v['message'])}" for v in request.variants)
    return sql.segmentation.audience_chunk(
        condition, f"CASE c.variant {cases} END", skip, holdout, waiting, variant
    ), params


async def write_chunk(db: asyncpg.Pool, campaign_id: UUID, chunk: tuple[str, list], size: int) -> UUID | None:
    """Writes the audience's (`audience_query`) next `size` customers after the last one written;
    returns the last customer it wrote, or None once all are written (or the campaign is cancelled)."""
    statement, params = chunk
    async with db.acquire() as conn, conn.transaction():
        await sql.segmentation.lock(conn, campaign_id)
        return await sql.segmentation.write_chunk(conn, statement, campaign_id, size, params)


async def pending_deliveries(db: asyncpg.Pool, campaign_id: UUID, after: UUID, upto: UUID) -> list[asyncpg.Record]:
    """The next batch of the campaign's pending messages to customers in (after, upto], in customer order."""
    async with db.acquire() as conn, sql.planning.planned(conn, sql.planning.IN_INDEX_ORDER):
        return await sql.segmentation.pending_deliveries(conn, campaign_id, after, upto, settings.batch_size)


async def publish_deliveries(db: asyncpg.Pool, campaign_id: UUID, epoch: int, after: UUID, upto: UUID) -> UUID:
    """Publishes the pending log rows of customers in (after, upto]; returns the new cursor."""
    campaign = str(campaign_id)
    while True:
        rows = await retry_forever(lambda: pending_deliveries(db, campaign_id, after, upto), "read audience")
        if not rows:
            return after
        deliveries = [
            delivery(
                r["id"], campaign, r["customer_id"], r["customer_name"], r["email"], r["phone"], r["personalized_msg"]
            )
            for r in rows
        ]
        parts = sizing.fit(
            deliveries,
            lambda part: DeliveryBatch.encode(campaign_id=campaign, deliveries=part, epoch=epoch),
            settings.max_record_bytes,
        )
        # Keyed past the campaign id, so a campaign's batches spread over the partitions.
        sent = [
            await deliveries_topic.send(key=f"{campaign_id}:{part[-1]['customerId']}", value=value)
            for part, value in parts
        ]
        await asyncio.gather(*sent)
        after = UUID(rows[-1]["customer_id"])
        await retry_forever(lambda: sql.campaigns.set_published_through(db, campaign_id, after, epoch), "cursor")


def sending(state: asyncpg.Record) -> bool:
    return states.delivering(state["status"], state["paused_by"])


async def run(db: asyncpg.Pool, request: CampaignRequest) -> None:
    """Segments (or resumes) the campaign."""
    campaign_id = UUID(request.id)
    await create(db, request)
    await sql.segmentation.begin(db, campaign_id)
    state = await sql.campaigns.state(db, campaign_id)
    if not state["segmented"] and state["status"] in states.STARTED:
        chunk = audience_query(request)
        published, epoch = state["published_through"] or NIL, state["delivery_epoch"]
        size = FIRST_CHUNK
        writing = asyncio.ensure_future(write_chunk(db, campaign_id, chunk, size))
        while (segmented := await writing) is not None:
            size = min(CHUNK, 2 * size)
            # The next chunk is written while this one goes out.
            writing = asyncio.ensure_future(write_chunk(db, campaign_id, chunk, size))
            state = await sql.campaigns.state(db, campaign_id)
            if state["status"] not in states.STARTED:
                await writing  # it writes nothing now
                log.info("campaign %s is %s: segmentation stops", campaign_id, state["status"])
                return
            if state["delivery_epoch"] != epoch:  # resumed: what is pending goes out again
                published, epoch = NIL, state["delivery_epoch"]
            if sending(state) and segmented > published:
                published = await publish_deliveries(db, campaign_id, epoch, published, segmented)
        await sql.segmentation.finish(db, campaign_id)
        state = await sql.campaigns.state(db, campaign_id)
        log.info("campaign %s segmented: %s", campaign_id, state["status"])
    if state["segmented"] and sending(state):
        await publish_deliveries(db, campaign_id, state["delivery_epoch"], state["published_through"] or NIL, MAX)


async def create(db: asyncpg.Pool, request: CampaignRequest) -> None:
    """The campaign's row, unless the edge wrote it already (it does, before it answers)."""
    await sql.campaigns.create(db, request.row(states.QUEUED))


@app.agent(campaigns_topic)
async def run_campaigns(stream):
    async for request in stream:
        db = await pool()
        await guarded(
            db,
            campaigns_topic.get_topic_name(),
            request,
            lambda: segment(request),
            on_dead=lambda reason: fail(db, request, reason),
        )


async def fail(db: asyncpg.Pool, request: CampaignRequest, reason: str) -> None:
    """A campaign whose request was dead-lettered ends FAILED with the reason, never waits forever."""
    await create(db, request)
    await sql.campaigns.fail(db, UUID(request.id), f"the campaign could not be run: {storable(reason)}")


async def segment(request: CampaignRequest) -> None:
    db = await pool()
    await run(db, request)
    if await sql.summaries.needs_summary(db, UUID(request.id)):  # delivered while segmenting, or nobody
        await (await summaries_topic.send(key=request.id, value=CampaignDone(campaign_id=request.id)))


async def start_due(conn: asyncpg.Connection) -> None:
    """Publishes the requests of scheduled campaigns that are due, then marks them QUEUED (a
    crash in between publishes one again, which runs nothing twice)."""
    for row in await sql.campaigns.due(conn, DUE_BATCH):
        await (await campaigns_topic.send(key=str(row["id"]), value=CampaignRequest.from_row(row)))
        await sql.campaigns.mark_queued(conn, row["id"])
        log.info("scheduled campaign %s is due: started", row["id"])


async def decide_due(conn: asyncpg.Connection) -> None:
    """Decides the A/B tests that are due, each in a transaction holding its campaign: the winner
    by `experiments.decide` on its variants' figures, the rest given the winner's message, and the
    request published again so that what is now pending goes out. Published before the decision
    commits: a crash in between publishes it again, which sends nothing twice."""
    for campaign_id in await sql.ab_tests.due(conn, DUE_BATCH):
        try:
            await decide(conn, campaign_id)
        except Exception:
            log.exception("campaign %s: the A/B decision failed; the next tick tries again", campaign_id)


async def decide(conn: asyncpg.Connection, campaign_id: UUID) -> None:
    async with conn.transaction():
        if not await sql.ab_tests.due_one(conn, campaign_id):  # locked until this transaction ends
            return  # decided, paused or cancelled meanwhile
        request = CampaignRequest.from_row(await sql.campaigns.request(conn, campaign_id))
        variants, ab_test = request.variants or [], request.ab_test or {}
        figures = await sql.ab_tests.variant_figures(conn, campaign_id)
        decision = experiments.decide(
            [experiments.VariantFigures.from_row({**v, **figures.get(v["name"], {})}) for v in variants],
            ab_test["metric"],
        )
        winner = next(v for v in variants if v["name"] == decision.winner)
        message, params = templating.sql_expression(winner["message"], first_param=4)
        await sql.ab_tests.decide(conn, campaign_id, decision.winner, asdict(decision), message, params)
        await (await campaigns_topic.send(key=request.id, value=request))
        log.info("campaign %s: %s", campaign_id, decision.reason)


@app.timer(1.0)
async def decide_due_tests() -> None:
    await timers.exclusive(Lock.DECIDE_TESTS, "deciding A/B tests", decide_due)


@app.timer(1.0)
async def start_due_campaigns() -> None:
    await timers.exclusive(Lock.START_DUE_CAMPAIGNS, "starting due campaigns", start_due)
