"""Receipts: each batch is recorded in one transaction, then counted in the delivery timeline."""

from __future__ import annotations

from uuid import UUID

from minicrm.sql import queries
from minicrm.streams.app import app, receipts_topic
from minicrm.streams.batching import retry_forever
from minicrm.streams.outcomes import record_outcomes
from minicrm.streams.records import ReceiptBatch
from minicrm.streams.resources import pool
from minicrm.tables.timeline import outcomes


async def record_timeline(campaign_id: UUID, partition: int, sent: int, failed: int, timestamp: float) -> None:
    """Adds the batch's outcomes to the windowed table, then writes the window to PostgreSQL.

    The window's value is written whole (an upsert of absolute counts), so a repeated
    flush is harmless; a crash between the receipt transaction and the table's changelog
    can lose a window's share, never double it. Campaign counters are exact regardless.
    """
    key = f"{campaign_id}/{partition}"
    old_sent, old_failed = outcomes[key].current()
    outcomes[key] = [old_sent + sent, old_failed + failed]
    window_start, _ = outcomes.table.window.current(timestamp)
    db = await pool()
    await retry_forever(
        lambda: db.execute(
            queries.UPSERT_TIMELINE, campaign_id, window_start, partition, old_sent + sent, old_failed + failed
        ),
        "timeline",
    )


@app.agent(receipts_topic)
async def fold_receipts(stream):
    async for event in stream.events():
        batch: ReceiptBatch = event.value
        campaign_id = UUID(batch.campaign_id)
        result = await record_outcomes(campaign_id, batch.receipts)
        if result and (result["sent"] or result["failed"]):
            await record_timeline(
                campaign_id, event.message.partition, result["sent"], result["failed"], event.message.timestamp
            )
