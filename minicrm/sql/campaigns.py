"""The campaigns row: created, read, started when due, paused by the vendor, failed; and the
predicates the other stages' statements share (delivered, waiting for its summary)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from minicrm import campaign_states as states
from minicrm.sql.errors import NotFound
from minicrm.sql.planning import Db

SENDING = states.sql_list(states.SENDING)
FINAL = states.sql_list(states.FINAL)
UNSTARTED = states.sql_list((states.QUEUED, states.SCHEDULED))
# Segmented, nothing pending or waiting for an A/B test's winner: every message has its outcome
# (only the summary is to come).
DELIVERED = f"(c.segmented_at IS NOT NULL AND c.status IN {SENDING} AND c.pending_count = 0 AND c.waiting_count = 0)"
# Waiting for its summary: delivered, or cancelled after it had started.
SUMMARISABLE = (
    f"(c.summary IS NULL AND ({DELIVERED} OR (c.status = '{states.CANCELLED}' AND c.started_at IS NOT NULL)))"
)

# An A/B test whose winner is not decided yet, and how long after it starts testing it is decided.
TESTING = "(c.ab_test IS NOT NULL AND c.winner IS NULL)"
DECIDE_AFTER = "make_interval(secs => (c.ab_test->>'decideAfterSeconds')::float8)"

# Each variant as defined, with its figures (`campaign_variants`), in order.
VARIANTS = """
CASE WHEN c.variants IS NULL THEN NULL ELSE (
    SELECT jsonb_agg(jsonb_build_object(
        'name', d.v->>'name', 'message', d.v->>'message', 'weight', (d.v->>'weight')::float8,
        'audience_size', coalesce(f.audience_size, 0), 'sent_count', coalesce(f.sent_count, 0),
        'failed_count', coalesce(f.failed_count, 0), 'conversions', coalesce(f.conversions, 0),
        'attributed_revenue', coalesce(f.attributed_revenue, 0)) ORDER BY d.position)
    FROM jsonb_array_elements(c.variants) WITH ORDINALITY AS d(v, position)
    LEFT JOIN campaign_variants f ON f.campaign_id = c.id AND f.name = d.v->>'name'
) END
"""

COLUMNS = f"""
c.id, c.name, c.user_id AS "userId", c.intent, c.segment, c.message,
CASE WHEN c.segmented_at IS NULL THEN coalesce(c.expected_audience, c.audience_size) ELSE c.audience_size END
    AS audience_size, c.status,
c.pending_count, c.sent_count, c.failed_count, c.created_at AS "createdAt", c.started_at AS "startedAt",
c.completed_at AS "completedAt", c.summary, c.summary_stats AS "summaryStats", c.failure_reason,
c.pause_reason, c.paused_by, c.cancelled_count, c.suppressed_count, c.capped_count, c.send_at AS "sendAt",
c.rate_per_second AS "ratePerSecond", c.resend_of AS "resendOf", c.resend_statuses AS "resendStatuses",
c.attribution_days, c.conversions, c.attributed_revenue, c.holdout_percent, c.holdout_size, c.holdout_conversions,
c.waiting_count, c.winner, c.decision, c.ab_test AS "abTest", c.testing_until AS "testingUntil",
c.completed_at + make_interval(days => c.attribution_days) AS attribution_closes_at,
{VARIANTS} AS variants
"""

# {columns} from COLUMNS or "c.id"; $2 the signed-in user, NULL in open mode.
OWNED = "SELECT {columns} FROM campaigns c WHERE c.id = $1 AND ($2::text IS NULL OR c.user_id = $2)"

# The campaign's row, and a row of figures for each of its variants (every variant has one,
# whoever it is drawn for, so that every statement that moves them finds it).
CREATE = """
WITH created AS (
    INSERT INTO campaigns (id, user_id, name, intent, segment, message, status, send_at, rate_per_second,
                           resend_of, resend_statuses, attribution_days, holdout_percent, variants, ab_test,
                           assignment_seed, expected_audience)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
    ON CONFLICT (id) DO NOTHING
    RETURNING id, variants
)
INSERT INTO campaign_variants (campaign_id, name)
SELECT created.id, v->>'name' FROM created CROSS JOIN jsonb_array_elements(coalesce(created.variants, '[]')) v
"""

DELETE_UNSTARTED = f"DELETE FROM campaigns WHERE id = $1 AND status IN {UNSTARTED}"

STATE = """
SELECT status, paused_by, published_through, delivery_epoch, segmented_at IS NOT NULL AS segmented
FROM campaigns WHERE id = $1
"""

FAIL = f"""
UPDATE campaigns SET status = '{states.FAILED}', failure_reason = $2, completed_at = now()
WHERE id = $1 AND status NOT IN {FINAL}
"""

SET_PUBLISHED_THROUGH = "UPDATE campaigns SET published_through = $2 WHERE id = $1 AND delivery_epoch = $3"

# The fan-out's pause and resume when the vendor fails and recovers; a user's pause is the user's.
# A TESTING campaign is paused and resumed so too, and tests on after the vendor's resume.
VENDOR_PAUSE = f"""
UPDATE campaigns SET status = '{states.PAUSED}', paused_by = '{states.VENDOR}', pause_reason = $2
WHERE id = $1 AND status IN {states.sql_list((states.RUNNING, states.TESTING))}
"""
VENDOR_RESUME = f"""
UPDATE campaigns c
SET status = CASE WHEN {TESTING} THEN '{states.TESTING}' ELSE '{states.RUNNING}' END,
    paused_by = NULL, pause_reason = NULL
WHERE id = $1 AND status = '{states.PAUSED}' AND paused_by = '{states.VENDOR}'
"""

# What the fan-out needs to know before it calls the vendor for a campaign.
DELIVERY_GATE = "SELECT status, paused_by, delivery_epoch, rate_per_second FROM campaigns WHERE id = $1"

# What CampaignRequest.from_row reads.
REQUEST_COLUMNS = (
    "id, user_id, name, intent, segment, message, rate_per_second, resend_of, resend_statuses,"
    " attribution_days, holdout_percent, variants, ab_test, assignment_seed"
)
# Scheduled campaigns that are due, oldest first; then each marked QUEUED once its request is out.
DUE = f"""
SELECT {REQUEST_COLUMNS}
FROM campaigns WHERE status = '{states.SCHEDULED}' AND send_at <= now() ORDER BY send_at LIMIT $1
"""
REQUEST = f"SELECT {REQUEST_COLUMNS} FROM campaigns WHERE id = $1"
MARK_QUEUED = f"UPDATE campaigns SET status = '{states.QUEUED}' WHERE id = $1 AND status = '{states.SCHEDULED}'"

BY_STATUS = """
SELECT status, count(*) AS campaigns, sum(sent_count)::bigint AS sent, sum(conversions)::bigint AS conversions,
       sum(attributed_revenue) AS revenue
FROM campaigns GROUP BY status
"""


async def owned(conn: Db, campaign_id: UUID, user: str | None, columns: str = "c.id") -> asyncpg.Record:
    """The campaign if `user` may see it (their own; any when `user` is None, in open mode)."""
    row = await conn.fetchrow(OWNED.format(columns=columns), campaign_id, user)
    if row is None:
        raise NotFound(f"no campaign {campaign_id}")
    return row


async def create(db: Db, row: Sequence[Any], expected_audience: int | None = None) -> str:
    """The campaign's row (`CampaignRequest.row`), unless it exists."""
    return await db.execute(CREATE, *row, expected_audience)


async def delete_unstarted(db: Db, campaign_id: UUID) -> str:
    return await db.execute(DELETE_UNSTARTED, campaign_id)


async def state(db: Db, campaign_id: UUID) -> asyncpg.Record:
    """The state segmentation goes on from, of a campaign that exists (`create` first)."""
    return await db.fetchrow(STATE, campaign_id)


async def fail(db: Db, campaign_id: UUID, reason: str) -> str:
    return await db.execute(FAIL, campaign_id, reason)


async def set_published_through(db: Db, campaign_id: UUID, after: UUID, epoch: int) -> str:
    return await db.execute(SET_PUBLISHED_THROUGH, campaign_id, after, epoch)


async def vendor_pause(db: Db, campaign_id: UUID, reason: str) -> str:
    return await db.execute(VENDOR_PAUSE, campaign_id, reason)


async def vendor_resume(db: Db, campaign_id: UUID) -> str:
    return await db.execute(VENDOR_RESUME, campaign_id)


async def delivery_gate(db: Db, campaign_id: UUID) -> asyncpg.Record | None:
    return await db.fetchrow(DELIVERY_GATE, campaign_id)


async def request(db: Db, campaign_id: UUID) -> asyncpg.Record:
    """What `CampaignRequest.from_row` reads of a campaign that exists."""
    return await db.fetchrow(REQUEST, campaign_id)


async def due(conn: Db, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(DUE, limit)


async def mark_queued(conn: Db, campaign_id: UUID) -> str:
    return await conn.execute(MARK_QUEUED, campaign_id)


async def by_status(db: Db) -> list[asyncpg.Record]:
    """Per status that has any: how many campaigns, their messages sent, conversions and revenue."""
    return await db.fetch(BY_STATUS)
