"""Receipts: each batch is recorded in one transaction (log rows, counters, timeline window).

A receipt that never comes (the vendor lost the message, or its receipts were refused) does not
keep a campaign running for ever: a timer ends the pending messages of campaigns whose vendor has
taken no call of them for `receipt_timeout` seconds (FAILED, "no receipt ..."), and the campaign
completes with them counted.
"""

from __future__ import annotations

import logging
from uuid import UUID

import asyncpg

from minicrm import sql, topics
from minicrm.sql.locks import Lock
from minicrm.streams import timers
from minicrm.streams.app import app, settings
from minicrm.streams.batching import guarded
from minicrm.streams.recording import record_outcomes, request_summary
from minicrm.streams.resources import pool

log = logging.getLogger(__name__)
receipts_topic = app.topic_of(topics.RECEIPTS)
OVERDUE_BATCH = 100


@app.agent(receipts_topic)
async def fold_receipts(stream):
    async for batch in stream:
        await guarded(
            await pool(),
            receipts_topic.get_topic_name(),
            batch,
            lambda: record_outcomes(UUID(batch.campaign_id), batch.receipts),
        )


async def end_overdue(conn: asyncpg.Connection) -> None:
    """Ends the messages whose receipts are past the timeout; asks for the summaries that completes."""
    for campaign_id in await sql.receipts.overdue(conn, settings.receipt_timeout, OVERDUE_BATCH):
        ended = await sql.receipts.expire(conn, campaign_id, settings.receipt_timeout)
        if ended is None:
            continue
        log.warning("campaign %s: %d messages had no receipt in time: FAILED", campaign_id, ended["expired"])
        if ended["needs_summary"]:
            await request_summary(campaign_id)


@app.timer(min(60.0, max(1.0, settings.receipt_timeout / 10)))
async def end_messages_without_receipts() -> None:
    await timers.exclusive(Lock.RECEIPT_TIMEOUTS, "ending messages without receipts", end_overdue)
