"""A user's actions on a campaign (`campaign_states.decide`): the state they are decided on, and
each applied only if the campaign's status is still the one decided on."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from minicrm import campaign_states as states
from minicrm.sql.campaigns import DECIDE_AFTER, DELIVERED, FINAL, TESTING
from minicrm.sql.errors import NotFound
from minicrm.sql.planning import Db

OPEN_MESSAGES = states.sql_list((states.PENDING, states.WAITING))

# The state a user's action is decided on (campaign_states.decide), if the campaign is theirs.
CONTROL_STATE = f"""
SELECT c.status, c.paused_by, c.segmented_at IS NOT NULL AS segmented, {DELIVERED} AS delivered,
       {TESTING} AS testing
FROM campaigns c WHERE c.id = $1 AND ($2::text IS NULL OR c.user_id = $2)
"""

# The user's actions, each applied only if the status is still the one decided on ($2).
PAUSE = f"""
UPDATE campaigns SET status = '{states.PAUSED}', paused_by = '{states.USER}', pause_reason = $3
WHERE id = $1 AND status = $2
"""
# A new delivery epoch: batches published before are dropped, what is pending is published again.
# A test resumed before its decision keeps its time, or starts it if it was paused before testing.
RESUME = f"""
UPDATE campaigns c
SET status = $2, paused_by = NULL, pause_reason = NULL, delivery_epoch = delivery_epoch + 1, published_through = NULL,
    last_handed_at = now(),
    testing_until = CASE WHEN $2 = '{states.TESTING}' THEN coalesce(testing_until, now() + {DECIDE_AFTER})
                         ELSE testing_until END
WHERE id = $1 AND status = '{states.PAUSED}'
"""
# Run after `segmentation.lock`, in its transaction: after a chunk being written.
CANCEL = f"""
UPDATE campaigns SET status = '{states.CANCELLED}', paused_by = NULL, pause_reason = NULL, completed_at = now()
WHERE id = $1 AND status = $2 AND status NOT IN {FINAL}
"""
# Messages of a cancelled campaign that are still pending or waiting become CANCELLED (idempotent; in a
# statement of its own after CANCEL commits, so no chunk written before the cancel is missed).
# A message whose receipt is being applied (its row locked) is left to the receipt: waiting for
# it deadlocked with `receipts.APPLY`, which locks its rows in the receipts' order. A campaign
# that is not cancelled is not read (every summary runs this, for campaigns of any size).
CANCEL_PENDING = f"""
WITH moved AS (
    UPDATE communication_log l SET status = '{states.MESSAGE_CANCELLED}', reason = 'the campaign was cancelled'
    FROM (SELECT id, status FROM communication_log
          WHERE campaign_id = $1 AND status IN {OPEN_MESSAGES} AND NOT test
            AND EXISTS (SELECT 1 FROM campaigns WHERE id = $1 AND status = '{states.CANCELLED}')
          FOR UPDATE SKIP LOCKED) open
    WHERE l.id = open.id
    RETURNING open.status
)
UPDATE campaigns c
SET cancelled_count = cancelled_count + (SELECT count(*) FROM moved),
    pending_count = pending_count - (SELECT count(*) FROM moved WHERE status = '{states.PENDING}'),
    waiting_count = waiting_count - (SELECT count(*) FROM moved WHERE status = '{states.WAITING}')
WHERE c.id = $1 AND c.status = '{states.CANCELLED}'
"""
RESCHEDULE = "UPDATE campaigns SET send_at = $3 WHERE id = $1 AND status = $2"

# Customers of campaign $1 whose messages ended in $2, not opted out: a resend's audience.
RESEND_SIZE = """
SELECT count(*) FROM communication_log l
WHERE l.campaign_id = $1 AND l.status = ANY($2::text[]) AND NOT l.test
  AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.email = l.email)
"""


async def control_state(conn: Db, campaign_id: UUID, user: str | None) -> states.State:
    """What a user's action on the campaign is decided on (`campaign_states.decide`)."""
    row = await conn.fetchrow(CONTROL_STATE, campaign_id, user)
    if row is None:
        raise NotFound(f"no campaign {campaign_id}")
    return states.State(**row)


async def pause(db: Db, campaign_id: UUID, status: str, reason: str) -> str:
    return await db.execute(PAUSE, campaign_id, status, reason)


async def resume(db: Db, campaign_id: UUID, status: str) -> str:
    """Back to `status` in a new delivery epoch, if the campaign is still PAUSED."""
    return await db.execute(RESUME, campaign_id, status)


async def cancel(conn: asyncpg.Connection, campaign_id: UUID, status: str) -> str:
    return await conn.execute(CANCEL, campaign_id, status)


async def cancel_pending(db: Db, campaign_id: UUID) -> str:
    return await db.execute(CANCEL_PENDING, campaign_id)


async def reschedule(db: Db, campaign_id: UUID, status: str, send_at: datetime) -> str:
    return await db.execute(RESCHEDULE, campaign_id, status, send_at)


async def resend_size(conn: Db, campaign_id: UUID, statuses: list[str]) -> int:
    return await conn.fetchval(RESEND_SIZE, campaign_id, statuses)
