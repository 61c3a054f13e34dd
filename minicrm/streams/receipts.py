"""Receipts: each batch is recorded in one transaction (log rows, counters, timeline window)."""

from __future__ import annotations

from uuid import UUID

from minicrm.streams.app import app, receipts_topic
from minicrm.streams.outcomes import record_outcomes


@app.agent(receipts_topic)
async def fold_receipts(stream):
    async for batch in stream:
        await record_outcomes(UUID(batch.campaign_id), batch.receipts)
