"""Receipts applied: log rows moved to their outcome, and the campaign's counters with them, in
one statement per batch of receipts (each variant's too); and the receipts that never came: a
campaign's messages still pending long after the vendor last took a call of it end FAILED."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from minicrm import campaign_states as states
from minicrm.sql.campaigns import SENDING, SUMMARISABLE
from minicrm.sql.planning import Db

# Log rows move from PENDING only, so a duplicate or late receipt moves nothing; the
# campaign's counters move by exactly the rows that moved (test sends are not counted). The
# statement that moves the last pending row marks the delivery finished (completed_at) and
# says the campaign needs its summary; writing the summary completes it. {moved_from} is
# PENDING, or CANCELLED for the receipts of messages that were out when their campaign was
# cancelled (they were sent after all): the summary written at the cancel did not count them, so
# {reopen} clears it to be written again.
#
# Each message is found by its id, one look-up per receipt (a lateral subquery the planner
# cannot turn around), and moved by its row's address (ctid): a row another transaction moved
# meanwhile has a new address, so it is left as the other left it. Joined to the log directly,
# the planner, which knows nothing of a new campaign or a new log, expected one matching row,
# and read the campaign's or the whole log's rows once per receipt or all of them per batch:
# many times the look-ups' work, on a small log as on a large one.
_APPLY = f"""
WITH r AS (
    SELECT * FROM unnest($2::uuid[], $3::text[], $4::text[]) AS r(id, status, reason)
), found AS MATERIALIZED (
    SELECT f.address, r.status, r.reason
    FROM r CROSS JOIN LATERAL (
        SELECT l.ctid AS address FROM communication_log l
        WHERE l.id = r.id AND l.campaign_id = $1 AND l.status = '{{moved_from}}'
        OFFSET 0
    ) f
), moved AS (
    UPDATE communication_log l
    SET status = found.status, reason = found.reason, delivered_at = now()
    FROM found
    WHERE l.ctid = found.address
    RETURNING l.status, l.test, l.variant
), variants AS (
    UPDATE campaign_variants v
    SET sent_count = v.sent_count + m.sent, failed_count = v.failed_count + m.failed
    FROM (SELECT variant, count(*) FILTER (WHERE status = '{states.SENT}')::int AS sent,
                 count(*) FILTER (WHERE status = '{states.MESSAGE_FAILED}')::int AS failed
          FROM moved WHERE variant IS NOT NULL AND NOT test GROUP BY variant) m
    WHERE v.campaign_id = $1 AND v.name = m.variant
), counts AS (
    SELECT count(*) FILTER (WHERE status = '{states.SENT}' AND NOT test)::int AS sent,
           count(*) FILTER (WHERE status = '{states.MESSAGE_FAILED}' AND NOT test)::int AS failed,
           count(*)::int AS moved
    FROM moved
)
UPDATE campaigns c
SET sent_count = c.sent_count + counts.sent,
    failed_count = c.failed_count + counts.failed,
    {{counter}} = c.{{counter}} - counts.sent - counts.failed,{{reopen}}
    completed_at = CASE WHEN c.pending_count = counts.sent + counts.failed AND c.completed_at IS NULL
                        AND c.waiting_count = 0
                        AND c.segmented_at IS NOT NULL AND c.status IN {{sending}} THEN now() ELSE c.completed_at END
FROM counts
WHERE c.id = $1
RETURNING {SUMMARISABLE} AS needs_summary, c.status, counts.moved, counts.sent, counts.failed
"""
APPLY = _APPLY.format(moved_from=states.PENDING, counter="pending_count", sending=SENDING, reopen="")
APPLY_LATE = _APPLY.format(
    moved_from=states.MESSAGE_CANCELLED,
    counter="cancelled_count",
    sending=SENDING,
    reopen="""
    summary = CASE WHEN counts.moved > 0 THEN NULL ELSE c.summary END,
    summary_stats = CASE WHEN counts.moved > 0 THEN NULL ELSE c.summary_stats END,""",
)


async def apply(
    db: Db, campaign_id: UUID, ids: Sequence[str | UUID], statuses: Sequence[str], reasons: Sequence[str | None]
) -> asyncpg.Record | None:
    """APPLY: the moved counts, the campaign's status and whether it needs its summary; None
    for an unknown campaign. Batches run it in `planning.by_key`'s transaction."""
    return await db.fetchrow(APPLY, campaign_id, ids, statuses, reasons)


async def apply_late(
    db: Db, campaign_id: UUID, ids: Sequence[str | UUID], statuses: Sequence[str], reasons: Sequence[str | None]
) -> asyncpg.Record | None:
    """APPLY_LATE: receipts of messages that were out when their campaign was cancelled."""
    return await db.fetchrow(APPLY_LATE, campaign_id, ids, statuses, reasons)


# Campaigns ($2 at most) whose vendor has taken no call for $1 seconds (nor were they resumed
# since) and that still have pending messages: those will get no receipt.
RECEIPTS_OVERDUE = f"""
SELECT c.id FROM campaigns c
WHERE c.summary IS NULL AND c.status IN {states.sql_list(states.RECEIPTS_AWAITED)} AND c.pending_count > 0
  AND c.segmented_at IS NOT NULL
  AND coalesce(c.last_handed_at, c.started_at) < now() - make_interval(secs => $1)
LIMIT $2
"""

# The campaign's ($1) pending messages end FAILED with the reason $2, counted as receipts count
# them (and apart, in no_receipt_count); the statement that moves the last pending row marks the
# delivery finished, as APPLY does. Rows a receipt is moving (locked) are left to it. Checked again
# here ($3 seconds), so a call taken since the look-up keeps them.
EXPIRE = f"""
WITH open AS MATERIALIZED (
    SELECT l.ctid AS address FROM communication_log l
    WHERE l.campaign_id = $1 AND l.status = '{states.PENDING}' AND NOT l.test
      AND EXISTS (SELECT 1 FROM campaigns c WHERE c.id = $1 AND c.status IN {states.sql_list(states.RECEIPTS_AWAITED)}
                  AND coalesce(c.last_handed_at, c.started_at) < now() - make_interval(secs => $3))
    FOR UPDATE SKIP LOCKED
), moved AS (
    UPDATE communication_log l SET status = '{states.MESSAGE_FAILED}', reason = $2, delivered_at = now()
    FROM open WHERE l.ctid = open.address
    RETURNING l.variant
), variants AS (
    UPDATE campaign_variants v SET failed_count = v.failed_count + m.n
    FROM (SELECT variant, count(*)::int AS n FROM moved WHERE variant IS NOT NULL GROUP BY variant) m
    WHERE v.campaign_id = $1 AND v.name = m.variant
)
UPDATE campaigns c
SET pending_count = c.pending_count - m.n, failed_count = c.failed_count + m.n,
    no_receipt_count = c.no_receipt_count + m.n,
    completed_at = CASE WHEN c.pending_count = m.n AND c.completed_at IS NULL AND c.waiting_count = 0
                        AND c.segmented_at IS NOT NULL AND c.status IN {SENDING} THEN now() ELSE c.completed_at END
FROM (SELECT count(*)::int AS n FROM moved) m
WHERE c.id = $1 AND m.n > 0
RETURNING m.n AS expired, {SUMMARISABLE} AS needs_summary
"""

# The vendor took a call of the campaign: its pending messages are awaited afresh.
HANDED = "UPDATE campaigns SET last_handed_at = now() WHERE id = $1"


async def overdue(db: Db, timeout: float, most: int) -> list[UUID]:
    """RECEIPTS_OVERDUE: campaigns whose pending messages are past the receipt timeout."""
    return [row["id"] for row in await db.fetch(RECEIPTS_OVERDUE, timeout, most)]


async def expire(db: Db, campaign_id: UUID, timeout: float) -> asyncpg.Record | None:
    """EXPIRE: (expired, needs_summary), or None when nothing moved."""
    return await db.fetchrow(EXPIRE, campaign_id, states.NO_RECEIPT, timeout)


async def handed(db: Db, campaign_id: UUID) -> None:
    await db.execute(HANDED, campaign_id)
