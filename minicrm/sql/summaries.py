"""A finished campaign's summary: the campaign it is for, its outcomes by city and spend band,
and the summary written with COMPLETED, once; and the campaigns whose summary is late."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from uuid import UUID

import asyncpg

from minicrm import campaign_states as states
from minicrm.sql.campaigns import SUMMARISABLE, VARIANTS
from minicrm.sql.planning import Db

# A campaign waiting for its summary, if $1 is one.
TO_SUMMARISE = f"""
SELECT id, name, intent, segment, message, status, audience_size, sent_count, failed_count, no_receipt_count,
       cancelled_count,
       suppressed_count, capped_count, started_at, completed_at, attribution_days, conversions, attributed_revenue,
       holdout_size, holdout_conversions, winner, decision, {VARIANTS} AS variants
FROM campaigns c
WHERE id = $1 AND {SUMMARISABLE}
"""

NEEDS_SUMMARY = f"SELECT {SUMMARISABLE} FROM campaigns c WHERE id = $1"

# Campaigns ($2 at most) that have waited $1 seconds or more for their summary: its trigger was
# lost (the edge died between a cancel and its CampaignDone) or its write failed. The summary is
# written once, so asking again is safe.
OVERDUE = f"""
SELECT c.id FROM campaigns c
WHERE {SUMMARISABLE} AND coalesce(c.completed_at, c.started_at) < now() - make_interval(secs => $1)
LIMIT $2
"""

# Outcomes per spend band and per city in one pass over the campaign's log (its messages: test
# sends are not counted, as they are not in the campaign's counters), by the city and spend each
# customer had when the campaign was written (in the log row since migration 011; a row written
# before has no spend and is counted by its customer's present ones, looked up for it alone).
OUTCOMES_BY_SEGMENT = f"""
SELECT bucket, city, GROUPING(bucket) = 1 AS is_city,
       count(*) FILTER (WHERE status = '{states.SENT}')::int AS sent,
       count(*) FILTER (WHERE status = '{states.MESSAGE_FAILED}')::int AS failed
FROM (
    SELECT width_bucket(coalesce(l.spend, (SELECT c.total_spend FROM customers c WHERE c.id = l.customer_id)),
                        $2::numeric[]) AS bucket,
           coalesce(CASE WHEN l.spend IS NULL THEN (SELECT c.city FROM customers c WHERE c.id = l.customer_id)
                         ELSE l.city END, '') AS city,
           l.status
    FROM communication_log l
    WHERE l.campaign_id = $1 AND NOT l.test
) outcomes
GROUP BY GROUPING SETS ((bucket), (city))
"""

# The summary and COMPLETED together, once (a cancelled campaign stays CANCELLED), if the
# campaign's outcomes are still those it was written from ($4 sent, $5 failed): receipts that
# came meanwhile for a cancelled campaign's messages asked for it again.
WRITE = f"""
UPDATE campaigns c
SET summary = $2, summary_stats = $3, completed_at = coalesce(completed_at, now()),
    status = CASE WHEN status = '{states.CANCELLED}' THEN status ELSE '{states.COMPLETED}' END,
    paused_by = NULL, pause_reason = NULL
WHERE id = $1 AND {SUMMARISABLE} AND c.sent_count = $4 AND c.failed_count = $5
"""


async def to_summarise(conn: Db, campaign_id: UUID) -> asyncpg.Record | None:
    """The campaign and its counters, if it waits for its summary."""
    return await conn.fetchrow(TO_SUMMARISE, campaign_id)


async def needs_summary(db: Db, campaign_id: UUID) -> bool | None:
    return await db.fetchval(NEEDS_SUMMARY, campaign_id)


async def overdue(db: Db, waited: float, most: int) -> list[UUID]:
    """OVERDUE: campaigns whose summary is late."""
    return [row["id"] for row in await db.fetch(OVERDUE, waited, most)]


async def outcomes_by_segment(conn: Db, campaign_id: UUID, spend_bands: Sequence[Decimal]) -> list[asyncpg.Record]:
    """(bucket, city, is_city, sent, failed): a row per spend band (`spend_bands` its bounds) and per city."""
    return await conn.fetch(OUTCOMES_BY_SEGMENT, campaign_id, list(spend_bands))


async def write(db: Db, campaign: asyncpg.Record, text: str, stats: dict) -> str:
    """WRITE, for `campaign` as `to_summarise` read it."""
    return await db.execute(WRITE, campaign["id"], text, stats, campaign["sent_count"], campaign["failed_count"])
