"""Recording delivery outcomes: log rows, campaign counters and the timeline move in one statement."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from uuid import UUID

import asyncpg

from minicrm import campaign_states as states
from minicrm import metrics, receipt_folding, sql, topics
from minicrm.records import CampaignDone, Outcomes
from minicrm.streams.app import app
from minicrm.streams.batching import retry_forever
from minicrm.streams.resources import pool

log = logging.getLogger(__name__)
outcomes_topic = app.topic_of(topics.OUTCOMES)
summaries_topic = app.topic_of(topics.SUMMARIES)


Move = Callable[..., Awaitable[asyncpg.Record | None]]


async def apply(db: asyncpg.Pool, move: Move, args: tuple) -> asyncpg.Record | None:
    """`sql.receipts.apply` or `apply_late`, its messages looked up by key (`sql.planning.by_key`)."""
    async with sql.planning.by_key(db) as conn:
        return await move(conn, *args)


async def record_outcomes(campaign_id: UUID, receipts: list[dict]) -> None:
    """Applies the outcomes and opt-outs; triggers the summary when the campaign is complete and has none."""
    folded = receipt_folding.fold(receipts)
    if not folded.ids:
        return
    db = await pool()
    args = (campaign_id, folded.ids, folded.statuses, folded.reasons)
    result = await retry_forever(lambda: apply(db, sql.receipts.apply, args), "apply receipts")
    if result is None:
        log.error("receipts for unknown campaign %s ignored (%d)", campaign_id, len(folded.ids))
        return
    await announce(campaign_id, result)
    needs_summary = result["needs_summary"]
    if result["status"] == states.CANCELLED and result["moved"] < len(folded.ids):
        # Messages that were out when the campaign was cancelled: the vendor had them after all,
        # and the summary is written again with them.
        late = await retry_forever(lambda: apply(db, sql.receipts.apply_late, args), "apply late receipts")
        if late is not None:
            await announce(campaign_id, late)
            needs_summary = needs_summary or late["needs_summary"]
    if folded.opt_outs:
        await retry_forever(
            lambda: sql.suppressions.suppress_recipients(db, list(folded.opt_outs), list(folded.opt_outs.values())),
            "opt-outs",
        )
    if needs_summary:
        await request_summary(campaign_id)


async def announce(campaign_id: UUID, moved: asyncpg.Record) -> None:
    """The outcomes a receipts statement moved, to the metrics and the live view (a replayed
    batch moves nothing, so sends nothing)."""
    metrics.OUTCOMES.labels(states.SENT).inc(moved["sent"])
    metrics.OUTCOMES.labels(states.MESSAGE_FAILED).inc(moved["failed"])
    if moved["sent"] or moved["failed"]:
        await outcomes_topic.send(
            key=str(campaign_id),
            value=Outcomes(campaign_id=str(campaign_id), sent=moved["sent"], failed=moved["failed"]),
        )


async def request_summary(campaign_id: UUID) -> None:
    """Asks for the summary of a campaign whose last pending message just moved. Derived from
    state, not from the transition: a replayed batch asks again, and the summary is written once."""
    done = CampaignDone(campaign_id=str(campaign_id))
    await (await summaries_topic.send(key=str(campaign_id), value=done))
