"""Completion: the summary of a finished campaign, written once. A sweep asks again for the
summaries that are late (a cancel whose trigger was lost when the edge died, a failed write)."""

from __future__ import annotations

import logging
from uuid import UUID

import asyncpg

from minicrm import sql, summary_stats, topics
from minicrm.sql.locks import Lock
from minicrm.streams import timers
from minicrm.streams.app import app, settings
from minicrm.streams.batching import guarded
from minicrm.streams.recording import request_summary
from minicrm.streams.resources import pool, resources

log = logging.getLogger(__name__)
summaries_topic = app.topic_of(topics.SUMMARIES)
SWEEP_AFTER = 30.0  # seconds a campaign waits for its summary before the sweep asks for it again
SWEEP_BATCH = 100


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
    written = await sql.summaries.write(db, campaign, text, stats)
    if written.endswith(" 1"):
        log.info("campaign %s summarised: %s", campaign_id, text)


@app.agent(summaries_topic)
async def write_summaries(stream):
    async for done in stream:
        await guarded(await pool(), summaries_topic.get_topic_name(), done, lambda: summarise(UUID(done.campaign_id)))


async def ask_again(conn: asyncpg.Connection) -> None:
    """Asks again for the summaries that are late."""
    for campaign_id in await sql.summaries.overdue(conn, SWEEP_AFTER, SWEEP_BATCH):
        log.warning("campaign %s waited %.0f s for its summary: asked again", campaign_id, SWEEP_AFTER)
        await request_summary(campaign_id)


@app.timer(10.0)
async def sweep_summaries() -> None:
    await timers.exclusive(Lock.SUMMARY_SWEEP, "summary sweep", ask_again)
