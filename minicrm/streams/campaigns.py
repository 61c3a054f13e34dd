"""Segmentation: a campaign request becomes log rows (in SQL, never in memory) and delivery batches."""

from __future__ import annotations

import logging
from uuid import UUID

import asyncpg

from minicrm import rules, templating
from minicrm.sql import queries
from minicrm.streams.app import app, campaigns_topic, deliveries_topic, settings, summaries_topic
from minicrm.streams.batching import dead_letter, retry_forever
from minicrm.streams.records import CampaignDone, CampaignRequest, DeliveryBatch
from minicrm.streams.resources import pool

log = logging.getLogger(__name__)
NIL = UUID(int=0)


def audience_query(request: CampaignRequest) -> tuple[str, list]:
    """INSERT ... SELECT of the audience: $1 campaign id, then the rule and message parameters."""
    condition, rule_params = rules.compile_tree(request.segment, first_param=2)
    message, message_params = templating.sql_expression(request.message, first_param=2 + len(rule_params))
    return queries.INSERT_AUDIENCE.format(condition=condition, message=message), rule_params + message_params


async def segment(db: asyncpg.Pool, request: CampaignRequest) -> tuple[str, UUID]:
    """Creates the campaign and its log rows once; returns its status and publication cursor."""
    campaign_id = UUID(request.id)
    async with db.acquire() as conn, conn.transaction():
        await conn.execute(
            queries.CREATE_CAMPAIGN, campaign_id, request.user_id, request.name, request.intent,
            request.segment, request.message,
        )
        status, cursor = await conn.fetchrow(queries.CAMPAIGN_STATE, campaign_id)
        if status == "QUEUED":
            sql, params = audience_query(request)
            inserted = await conn.execute(sql, campaign_id, *params)
            audience = int(inserted.rsplit(" ", 1)[1])
            await conn.execute(queries.START_CAMPAIGN, campaign_id, audience)
            status = "COMPLETED" if audience == 0 else "RUNNING"
            log.info("campaign %s: audience %d", campaign_id, audience)
    return status, cursor or NIL


async def publish_deliveries(db: asyncpg.Pool, campaign_id: UUID, cursor: UUID) -> int:
    """Publishes the pending log rows after `cursor` in batches, recording progress as it goes."""
    published = 0
    while True:
        rows = await retry_forever(
            lambda: db.fetch(queries.PENDING_DELIVERIES, campaign_id, cursor, settings.batch_size), "read audience"
        )
        if not rows:
            return published
        batch = DeliveryBatch(
            campaign_id=str(campaign_id),
            deliveries=[
                {"commId": str(r["id"]), "campaignId": str(campaign_id), "customerId": str(r["customer_id"]),
                 "name": r["customer_name"], "email": r["email"], "phone": r["phone"],
                 "personalized_msg": r["personalized_msg"]}
                for r in rows
            ],
        )
        # Spread a campaign's batches over the partitions, so every deliveries worker shares it.
        await (await deliveries_topic.send(key=f"{campaign_id}:{published}", value=batch))
        cursor = rows[-1]["id"]
        published += len(rows)
        await retry_forever(lambda: db.execute(queries.SET_PUBLISHED_THROUGH, campaign_id, cursor), "cursor")


@app.agent(campaigns_topic)
async def run_campaigns(stream):
    async for request in stream:
        db = await pool()
        try:
            status, cursor = await retry_forever(lambda: segment(db, request), "segmentation")
        except (asyncpg.PostgresError, rules.RuleError, templating.TemplateError) as exc:
            await dead_letter(db, campaigns_topic.get_topic_name(), request, f"{type(exc).__name__}: {exc}")
            continue
        if status == "COMPLETED":
            await (await summaries_topic.send(key=request.id, value=CampaignDone(campaign_id=request.id)))
        elif status in ("RUNNING", "PAUSED"):
            count = await publish_deliveries(db, UUID(request.id), cursor)
            log.info("campaign %s: %d deliveries published", request.id, count)
