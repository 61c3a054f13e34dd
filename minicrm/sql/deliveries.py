"""What the fan-out reads and writes around a batch's vendor calls: in one statement before them,
the batch's messages whose recipients opted out since segmentation (moved to SKIPPED, counted as
segmentation counts them) and the vendor's learnt body limit; after a 413, the limit learnt; and
forgetting it (as its expiry does), which `bin/chaos` injects as a fault."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from minicrm import campaign_states as states
from minicrm.sql.campaigns import SENDING, SUMMARISABLE
from minicrm.sql.planning import Db

# $1 the campaign, $2 the batch's message ids, $3 their recipients' emails, $4 the vendor, $5 the
# seconds a learnt limit is trusted. The opted-out recipients' messages that are still PENDING
# become SKIPPED ("opted out") and leave the audience, as if segmentation had skipped them: the
# counters move by exactly the rows that moved, and the statement that moves the last pending
# row marks the delivery finished (as `receipts.APPLY` does). A row a receipt is moving (locked)
# is left to it: it was sent. Rows are found by id, one look-up per opted-out message; the
# suppression list by email, one look-up per message. Test sends are not touched.
BEFORE_CALLS = f"""
WITH opted AS MATERIALIZED (
    SELECT b.id FROM unnest($2::uuid[], $3::text[]) AS b(id, email)
    WHERE EXISTS (SELECT 1 FROM suppressions s WHERE s.email = b.email)
), open AS MATERIALIZED (
    SELECT f.address FROM opted o CROSS JOIN LATERAL (
        SELECT l.ctid AS address FROM communication_log l
        WHERE l.id = o.id AND l.campaign_id = $1 AND l.status = '{states.PENDING}' AND NOT l.test
        FOR UPDATE SKIP LOCKED
    ) f
), moved AS (
    UPDATE communication_log l SET status = '{states.SKIPPED}', reason = '{states.OPTED_OUT}'
    FROM open WHERE l.ctid = open.address
    RETURNING l.variant
), variants AS (
    UPDATE campaign_variants v SET audience_size = v.audience_size - m.n
    FROM (SELECT variant, count(*)::int AS n FROM moved WHERE variant IS NOT NULL GROUP BY variant) m
    WHERE v.campaign_id = $1 AND v.name = m.variant
), counted AS (
    UPDATE campaigns c
    SET pending_count = c.pending_count - m.n,
        suppressed_count = c.suppressed_count + m.n,
        audience_size = c.audience_size - m.n,
        completed_at = CASE WHEN c.pending_count = m.n AND c.completed_at IS NULL AND c.waiting_count = 0
                            AND c.segmented_at IS NOT NULL AND c.status IN {SENDING} THEN now() ELSE c.completed_at END
    FROM (SELECT count(*)::int AS n FROM moved) m
    WHERE c.id = $1 AND m.n > 0
    RETURNING {SUMMARISABLE} AS needs_summary
)
SELECT coalesce((SELECT array_agg(id::text) FROM opted), '{{}}') AS opted_out,
       (SELECT count(*) FROM moved)::int AS skipped,
       coalesce((SELECT needs_summary FROM counted), FALSE) AS needs_summary,
       (SELECT max_bytes FROM vendor_limits
        WHERE vendor = $4 AND learnt_at > now() - make_interval(secs => $5)) AS max_bytes
"""

# A 413 for a body of $2 bytes: the vendor takes at most $2 - 1. Only ever lowered while trusted
# ($3 seconds), so every limit a worker reads is at least the vendor's real one.
LEARN = """
INSERT INTO vendor_limits AS v (vendor, max_bytes) VALUES ($1, $2 - 1)
ON CONFLICT (vendor) DO UPDATE
SET max_bytes = CASE WHEN v.learnt_at > now() - make_interval(secs => $3) THEN least(v.max_bytes, excluded.max_bytes)
                     ELSE excluded.max_bytes END,
    learnt_at = now()
RETURNING max_bytes
"""


async def before_calls(
    db: Db, campaign_id: UUID, ids: Sequence[str], emails: Sequence[str], vendor: str, trusted: float
) -> asyncpg.Record:
    """BEFORE_CALLS: (opted_out: the ids of the batch's opted-out messages, skipped: the rows it
    moved, needs_summary, max_bytes: the vendor's learnt limit or None)."""
    return await db.fetchrow(BEFORE_CALLS, campaign_id, ids, emails, vendor, trusted)


async def learn(db: Db, vendor: str, refused_bytes: int, trusted: float) -> int:
    """The vendor refused `refused_bytes`: its limit as now known."""
    return await db.fetchval(LEARN, vendor, refused_bytes, trusted)


async def forget(db: Db, vendor: str) -> None:
    """The vendor's learnt limit gone, as if it had expired: calls are split by the full size
    again until the vendor's next 413."""
    await db.execute("DELETE FROM vendor_limits WHERE vendor = $1", vendor)
