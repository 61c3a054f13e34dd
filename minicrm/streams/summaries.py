"""Completion: the summary of a finished campaign, written once."""

from __future__ import annotations

import logging
from uuid import UUID

import asyncpg

from minicrm import summary_stats
from minicrm.sql import queries
from minicrm.streams.app import app, settings, summaries_topic
from minicrm.streams.batching import guarded
from minicrm.streams.resources import pool, resources

log = logging.getLogger(__name__)


async def statistics(conn: asyncpg.Connection, campaign: asyncpg.Record) -> dict:
    rows = await conn.fetch(queries.OUTCOMES_BY_SEGMENT, campaign["id"], list(summary_stats.SPEND_BANDS))
    bands = [r for r in rows if not r["is_city"]]
    cities = [r for r in rows if r["is_city"]]
    return summary_stats.build(
        dict(campaign),
        summary_stats.segments(
            (summary_stats.band_label(r["bucket"], settings.currency), r["sent"], r["failed"]) for r in bands
        ),
        summary_stats.segments((r["city"], r["sent"], r["failed"]) for r in cities),
    )


async def summarise(campaign_id: UUID) -> None:
    db = await pool()
    # A cancel moves its pending messages itself; this finishes the move if the edge stopped first.
    await db.execute(queries.CANCEL_PENDING, campaign_id)
    async with db.acquire() as conn:
        campaign = await conn.fetchrow(queries.CAMPAIGN_TO_SUMMARISE, campaign_id)
        if campaign is None:
            return
        stats = await statistics(conn, campaign)
    text = await resources.ai.summary(campaign["name"], stats)
    written = await db.execute(queries.WRITE_SUMMARY, campaign_id, text, stats)
    if written.endswith(" 1"):
        log.info("campaign %s summarised: %s", campaign_id, text)


@app.agent(summaries_topic)
async def write_summaries(stream):
    async for done in stream:
        await guarded(await pool(), summaries_topic.get_topic_name(), done, lambda: summarise(UUID(done.campaign_id)))
