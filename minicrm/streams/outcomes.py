"""Recording delivery outcomes: log rows, campaign counters and the timeline move in one statement."""

from __future__ import annotations

import logging
from uuid import UUID

from minicrm import receipt_folding
from minicrm.sql import queries
from minicrm.streams.app import summaries_topic
from minicrm.streams.batching import retry_forever
from minicrm.streams.records import CampaignDone
from minicrm.streams.resources import pool

log = logging.getLogger(__name__)


async def record_outcomes(campaign_id: UUID, receipts: list[dict]) -> None:
    """Applies the outcomes; triggers the summary when the campaign is complete and has none."""
    ids, statuses, reasons = receipt_folding.fold(receipts)
    if not ids:
        return
    db = await pool()
    result = await retry_forever(
        lambda: db.fetchrow(queries.APPLY_RECEIPTS, campaign_id, ids, statuses, reasons),
        "apply receipts",
    )
    if result is None:
        log.error("receipts for unknown campaign %s ignored (%d)", campaign_id, len(ids))
    elif result["needs_summary"]:
        # Derived from state, not from the transition: a replayed batch triggers it again.
        done = CampaignDone(campaign_id=str(campaign_id))
        await (await summaries_topic.send(key=str(campaign_id), value=done))
