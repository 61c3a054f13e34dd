"""Completion: the summary of a finished campaign, written once."""

from __future__ import annotations

import logging
from uuid import UUID

import asyncpg

from minicrm import sql, summary_stats, topics
from minicrm.streams.app import app, settings
from minicrm.streams.batching import guarded
from minicrm.streams.resources import pool, resources

log = logging.getLogger(__name__)
summaries_topic = app.topic_of(topics.SUMMARIES)


async def statistics(conn: asyncpg.Connection, campaign: asyncpg.Record) -> dict:
    rows = await sql.summaries.outcomes_by_segment(conn, campaign["id"], summary_stats.SPEND_BANDS)
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
    await sql.campaign_controls.cancel_pending(db, campaign_id)
    async with db.acquire() as conn:
        campaign = await sql.summaries.to_summarise(conn, campaign_id)
        if campaign is None:
            return
        stats = await statistics(conn, campaign)
    text = await resources.ai.summary(campaign["name"], stats)
    written = await sql.summaries.write(db, campaign_id, text, stats)
    if written.endswith(" 1"):
        log.info("campaign %s summarised: %s", campaign_id, text)


@app.agent(summaries_topic)
async def write_summaries(stream):
    async for done in stream:
        await guarded(await pool(), summaries_topic.get_topic_name(), done, lambda: summarise(UUID(done.campaign_id)))
