"""Receipts: each batch is recorded in one transaction (log rows, counters, timeline window)."""

from __future__ import annotations

from uuid import UUID

from minicrm import topics
from minicrm.streams.app import app
from minicrm.streams.batching import guarded
from minicrm.streams.recording import record_outcomes
from minicrm.streams.resources import pool

receipts_topic = app.topic_of(topics.RECEIPTS)


@app.agent(receipts_topic)
async def fold_receipts(stream):
    async for batch in stream:
        await guarded(
            await pool(),
            receipts_topic.get_topic_name(),
            batch,
            lambda: record_outcomes(UUID(batch.campaign_id), batch.receipts),
        )
