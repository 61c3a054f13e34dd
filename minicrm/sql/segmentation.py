"""Segmentation: a campaign's audience written as its log rows, a chunk at a time, under the
campaign's lock; and the pending messages read back for publication."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from minicrm import campaign_states as states
from minicrm.sql.campaigns import DECIDE_AFTER, TESTING
from minicrm.sql.locks import Lock
from minicrm.sql.planning import Db

OPEN = states.sql_list((states.SEGMENTING, states.PAUSED))

# A QUEUED campaign, or a SCHEDULED one that is due (its request can come before the scheduler
# marks it QUEUED), starts.
BEGIN = f"""
UPDATE campaigns SET status = '{states.SEGMENTING}', started_at = now()
WHERE id = $1 AND (status = '{states.QUEUED}' OR (status = '{states.SCHEDULED}' AND send_at <= now()))
"""

# The next chunk of the audience ($1 the campaign, $2 customers at most), in customer id order
# after the last customer written (found at the end of the campaign's index): its log rows are
# written and counted in the campaign in one statement. Customers not to be messaged ({skip}:
# opted out, over the frequency cap) are SKIPPED rows with the reason; the holdout's ({holdout})
# HOLDOUT rows; an A/B test's rest ({waiting}) WAITING rows, until the winner is decided; the
# others PENDING, with their {variant} and its {message}. {condition}, {message}, {skip},
# {holdout}, {waiting} and {variant} are built by `rules`, `templating`, `exclusions` and
# `experiments` from allow-listed columns; their values are bind parameters from $3 on. It runs
# in a transaction holding LOCK, so a chunk is written before a cancel or not at all, and one
# chunk of a campaign at a time: what is written is always the audience up to a customer. So a
# replayed request, or a second worker segmenting the same campaign, writes nothing twice and
# counts nothing twice, and the rows are plain INSERTs (`ON CONFLICT DO NOTHING` would look each
# row up in the key first, a cost on the path that paces a campaign).
AUDIENCE_CHUNK = f"""
WITH open AS (
    SELECT id FROM campaigns
    WHERE id = $1::uuid AND segmented_at IS NULL AND status IN {OPEN}
), picked AS (
    SELECT c.id, c.name, c.email, c.phone, c.city, c.total_spend, {{skip}} AS skipped,
           {{holdout}} AS holdout, {{waiting}} AS waiting
    FROM customers c
    WHERE {{condition}} AND EXISTS (SELECT 1 FROM open)
      AND c.id > coalesce((SELECT l.customer_id FROM communication_log l
                           WHERE l.campaign_id = $1::uuid AND NOT l.test
                           ORDER BY l.customer_id DESC LIMIT 1), '00000000-0000-0000-0000-000000000000')
    ORDER BY c.id
    LIMIT $2
), chunk AS (
    SELECT c.*,
           CASE WHEN c.skipped IS NOT NULL THEN '{states.SKIPPED}' WHEN c.holdout THEN '{states.HOLDOUT}'
                WHEN c.waiting THEN '{states.WAITING}' ELSE '{states.PENDING}' END AS status,
           CASE WHEN c.skipped IS NULL AND NOT c.holdout AND NOT c.waiting THEN {{variant}} END AS variant
    FROM picked c
), inserted AS (
    INSERT INTO communication_log (id, campaign_id, customer_id, customer_name, email, phone, personalized_msg,
                                   status, reason, city, spend, variant)
    SELECT md5($1::uuid::text || ':' || id::text)::uuid, $1::uuid, id, name, email, phone,
           CASE WHEN c.status = '{states.PENDING}' THEN {{message}} ELSE '' END, status, skipped, city, total_spend,
           variant
    FROM chunk c
    RETURNING status, reason, variant
), counts AS (
    SELECT count(*) FILTER (WHERE status = '{states.PENDING}')::int AS pending,
           count(*) FILTER (WHERE status = '{states.WAITING}')::int AS waiting,
           count(*) FILTER (WHERE status = '{states.HOLDOUT}')::int AS holdout,
           count(*) FILTER (WHERE reason = '{states.OPTED_OUT}' AND status = '{states.SKIPPED}')::int AS suppressed,
           count(*) FILTER (WHERE reason = '{states.FREQUENCY_CAPPED}' AND status = '{states.SKIPPED}')::int AS capped
    FROM inserted
), variants AS (
    INSERT INTO campaign_variants (campaign_id, name, audience_size)
    SELECT $1::uuid, variant, count(*) FROM inserted WHERE variant IS NOT NULL GROUP BY variant
    ON CONFLICT (campaign_id, name)
    DO UPDATE SET audience_size = campaign_variants.audience_size + excluded.audience_size
), counted AS (
    UPDATE campaigns
    SET pending_count = pending_count + counts.pending,
        waiting_count = waiting_count + counts.waiting,
        audience_size = coalesce(audience_size, 0) + counts.pending + counts.waiting,
        holdout_size = holdout_size + counts.holdout,
        suppressed_count = suppressed_count + counts.suppressed,
        capped_count = capped_count + counts.capped
    FROM counts
    WHERE id = $1::uuid
)
SELECT (SELECT id FROM chunk ORDER BY id DESC LIMIT 1) AS last_customer
"""

# A resend's audience: the customers of campaign ${first} whose messages ended in ${second}.
RESEND_AUDIENCE = """c.id IN (SELECT l.customer_id FROM communication_log l
                  WHERE l.campaign_id = ${first}::uuid AND l.status = ANY(${second}::text[]) AND NOT l.test)"""

# A resend's variant for a customer: the one they had in the first campaign ($3).
FIRST_VARIANT = """(SELECT l.variant FROM communication_log l
                    WHERE l.campaign_id = $3::uuid AND l.customer_id = c.id AND NOT l.test)"""

# The audience is complete. A segmenting campaign runs, or tests (an A/B test: its decision is due
# `decideAfterSeconds` later, or at once when nobody waits for it); a paused one stays paused (its
# test's clock starts when it is resumed). If every receipt came in meanwhile (or
# the audience is empty) it is delivered, and waits for its summary.
FINISH = f"""
UPDATE campaigns c
SET audience_size = coalesce(audience_size, 0), segmented_at = now(),
    status = CASE WHEN status <> '{states.SEGMENTING}' THEN status
                  WHEN {TESTING} THEN '{states.TESTING}' ELSE '{states.RUNNING}' END,
    testing_until = CASE WHEN {TESTING} AND status = '{states.SEGMENTING}' AND waiting_count = 0 THEN now()
                         WHEN {TESTING} AND status = '{states.SEGMENTING}' THEN now() + {DECIDE_AFTER} END,
    completed_at = CASE WHEN pending_count = 0 AND NOT {TESTING} THEN now() END
WHERE id = $1 AND segmented_at IS NULL AND status IN {OPEN}
"""

# A campaign's chunks are written under this lock, and its cancel takes it too: a cancel waits for
# a chunk being written and a chunk after the cancel sees it; two chunks of one campaign (a replay
# and the worker it replaces) are written one after the other. (An advisory lock, not the
# campaign row's: receipts update that row all the time.)
LOCK = f"SELECT pg_advisory_xact_lock({Lock.SEGMENTATION:d}, hashtext($1::uuid::text))"

# Ids as text: they go out as JSON strings, and making UUID objects and printing them again was a
# large share of the worker's CPU in a campaign. Ordered by the column, not its text. Run after
# `planning.IN_INDEX_ORDER`, in its transaction.
PENDING_DELIVERIES = f"""
SELECT l.id::text AS id, l.customer_id::text AS customer_id, l.customer_name, l.email, l.phone, l.personalized_msg
FROM communication_log l
WHERE l.campaign_id = $1 AND l.customer_id > $2 AND l.customer_id <= $3 AND l.status = '{states.PENDING}' AND NOT l.test
ORDER BY l.customer_id
LIMIT $4
"""


async def begin(db: Db, campaign_id: UUID) -> str:
    return await db.execute(BEGIN, campaign_id)


def audience_chunk(condition: str, message: str, skip: str, holdout: str, waiting: str, variant: str) -> str:
    """The chunk statement for an audience: AUDIENCE_CHUNK with its fragments filled in."""
    return AUDIENCE_CHUNK.format(
        condition=condition, message=message, skip=skip, holdout=holdout, waiting=waiting, variant=variant
    )


def resend_audience(first: int) -> str:
    """The audience condition of a resend, its two values from `$first`."""
    return RESEND_AUDIENCE.format(first=first, second=first + 1)


async def lock(conn: asyncpg.Connection, campaign_id: UUID) -> None:
    """LOCK, held until the end of the caller's transaction on `conn`."""
    await conn.execute(LOCK, campaign_id)


async def write_chunk(
    conn: asyncpg.Connection, statement: str, campaign_id: UUID, size: int, params: list[Any]
) -> UUID | None:
    """Runs an `audience_chunk` statement (after `lock`, in the caller's transaction); the last
    customer it wrote, or None once all are written (or the campaign is no longer open)."""
    return await conn.fetchval(statement, campaign_id, size, *params)


async def finish(db: Db, campaign_id: UUID) -> str:
    return await db.execute(FINISH, campaign_id)


async def pending_deliveries(conn: Db, campaign_id: UUID, after: UUID, upto: UUID, limit: int) -> list[asyncpg.Record]:
    """Up to `limit` pending messages to customers in (after, upto], in customer order."""
    return await conn.fetch(PENDING_DELIVERIES, campaign_id, after, upto, limit)
