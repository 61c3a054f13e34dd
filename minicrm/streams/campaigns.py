"""Segmentation: a campaign request becomes log rows and delivery batches, a chunk at a time.

Each chunk of the audience (in customer id order) is written by PostgreSQL itself
(INSERT ... SELECT, so the audience never passes through this process) and its
deliveries are published at once, so the vendor starts on the first chunk while later
ones are still being written. The campaign stays SEGMENTING, and so cannot complete,
until the last chunk is in. A replayed request writes nothing twice (log ids follow from
campaign and customer) and resumes publication where `published_through` says.
"""

from __future__ import annotations

import asyncio
import logging
from uuid import UUID

import asyncpg

from minicrm import campaign_states as states, rules, sizing, templating
from minicrm.sql import queries
from minicrm.streams.app import app, campaigns_topic, deliveries_topic, settings, summaries_topic
from minicrm.streams.batching import guarded, retry_forever, storable
from minicrm.streams.records import CampaignDone, CampaignRequest, DeliveryBatch
from minicrm.streams.resources import pool

log = logging.getLogger(__name__)
NIL = UUID(int=0)
MAX = UUID(int=2**128 - 1)
CHUNK = 20_000


def audience_query(request: CampaignRequest) -> tuple[str, list]:
    """The chunk statement ($1 campaign, $2 after customer, $3 limit) and its rule and message values."""
    condition, rule_params = rules.compile_tree(request.segment, first_param=4)
    message, message_params = templating.sql_expression(request.message, first_param=4 + len(rule_params))
    return queries.INSERT_AUDIENCE_CHUNK.format(condition=condition, message=message), rule_params + message_params


async def publish_deliveries(db: asyncpg.Pool, campaign_id: UUID, after: UUID, upto: UUID) -> UUID:
    """Publishes the pending log rows of customers in (after, upto]; returns the new cursor."""
    while True:
        rows = await retry_forever(
            lambda: db.fetch(queries.PENDING_DELIVERIES, campaign_id, after, upto, settings.batch_size), "read audience"
        )
        if not rows:
            return after
        deliveries = [
            {"commId": str(r["id"]), "campaignId": str(campaign_id), "customerId": str(r["customer_id"]),
             "name": r["customer_name"], "email": r["email"], "phone": r["phone"],
             "personalized_msg": r["personalized_msg"]}
            for r in rows
        ]
        parts = sizing.fit(deliveries, lambda part: DeliveryBatch(campaign_id=str(campaign_id), deliveries=part).dumps(),
                           settings.max_record_bytes)
        # Keyed past the campaign id, so a campaign's batches spread over the partitions.
        sent = [await deliveries_topic.send(key=f"{campaign_id}:{part[-1]['customerId']}", value=value)
                for part, value in parts]
        await asyncio.gather(*sent)
        after = rows[-1]["customer_id"]
        await retry_forever(lambda: db.execute(queries.SET_PUBLISHED_THROUGH, campaign_id, after), "cursor")


async def run(db: asyncpg.Pool, request: CampaignRequest) -> None:
    """Segments (or resumes) the campaign."""
    campaign_id = UUID(request.id)
    await db.execute(queries.CREATE_CAMPAIGN, campaign_id, request.user_id, request.name, request.intent,
                     request.segment, request.message)
    await db.execute(queries.BEGIN_SEGMENTATION, campaign_id)
    status, published = await db.fetchrow(queries.CAMPAIGN_STATE, campaign_id)
    published = published or NIL
    if status == states.SEGMENTING:
        sql, params = audience_query(request)
        segmented = NIL
        while (last := await db.fetchval(sql, campaign_id, segmented, CHUNK, *params)) is not None:
            segmented = last
            if segmented > published:
                published = await publish_deliveries(db, campaign_id, published, segmented)
        await db.execute(queries.FINISH_SEGMENTATION, campaign_id)
        status, _ = await db.fetchrow(queries.CAMPAIGN_STATE, campaign_id)
        log.info("campaign %s segmented: %s", campaign_id, status)
    if status in states.SENDING:
        await publish_deliveries(db, campaign_id, published, MAX)


@app.agent(campaigns_topic)
async def run_campaigns(stream):
    async for request in stream:
        db = await pool()
        await guarded(db, campaigns_topic.get_topic_name(), request, lambda: segment(request),
                      on_dead=lambda reason: fail(db, request, reason))


async def fail(db: asyncpg.Pool, request: CampaignRequest, reason: str) -> None:
    """A campaign whose request was dead-lettered ends FAILED with the reason, never waits forever."""
    await db.execute(queries.CREATE_CAMPAIGN, UUID(request.id), request.user_id, request.name, request.intent,
                     request.segment, request.message)
    await db.execute(queries.FAIL_CAMPAIGN, UUID(request.id), f"the campaign could not be run: {storable(reason)}")


async def segment(request: CampaignRequest) -> None:
    db = await pool()
    await run(db, request)
    if await db.fetchval(queries.NEEDS_SUMMARY, UUID(request.id)):  # delivered while segmenting, or nobody
        await (await summaries_topic.send(key=request.id, value=CampaignDone(campaign_id=request.id)))
