"""A/B tests: the campaigns whose decision is due, each variant's figures, and the decision
applied: the winner recorded with its reasons, and the rest of the audience (WAITING) given the
winner's message, PENDING, in one statement."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from minicrm import campaign_states as states

# TESTING campaigns whose decision is due, oldest first.
DUE = f"""
SELECT id FROM campaigns
WHERE status = '{states.TESTING}' AND winner IS NULL AND testing_until <= now()
ORDER BY testing_until LIMIT $1
"""
# The campaign, if still due, locked for its decision in the caller's transaction (a user's pause
# or cancel waits for it; one paused, cancelled or decided meanwhile is not due).
DUE_ONE = f"""
SELECT 1 FROM campaigns
WHERE id = $1 AND status = '{states.TESTING}' AND winner IS NULL AND testing_until <= now()
FOR UPDATE
"""

# Its variants' figures, for the decision.
VARIANT_FIGURES = """
SELECT name, audience_size, sent_count, failed_count, conversions, attributed_revenue
FROM campaign_variants WHERE campaign_id = $1
"""

# $1 the campaign (locked by DUE_ONE in this transaction), $2 the winner, $3 the decision; {message}
# the winner's message over customers `c`, its values from $4. The rest become PENDING with the
# winner's message, counted as pending; a new delivery epoch publishes what is pending again
# (the request is published after this commits), as a resume does.
DECIDE = f"""
WITH moved AS (
    UPDATE communication_log l
    SET status = '{states.PENDING}', variant = $2, personalized_msg = {{message}}
    FROM customers c
    WHERE l.campaign_id = $1 AND l.status = '{states.WAITING}' AND NOT l.test AND c.id = l.customer_id
    RETURNING 1
), counted AS (
    UPDATE campaign_variants SET audience_size = audience_size + (SELECT count(*) FROM moved)
    WHERE campaign_id = $1 AND name = $2
)
UPDATE campaigns
SET winner = $2, decision = $3, status = '{states.RUNNING}', testing_until = NULL,
    pending_count = pending_count + (SELECT count(*) FROM moved),
    waiting_count = waiting_count - (SELECT count(*) FROM moved),
    completed_at = CASE WHEN pending_count + (SELECT count(*) FROM moved) = 0 THEN now() END,
    delivery_epoch = delivery_epoch + 1, published_through = NULL
WHERE id = $1 AND status = '{states.TESTING}' AND winner IS NULL
"""


async def due(conn: asyncpg.Connection, limit: int) -> list[UUID]:
    """TESTING campaigns whose decision is due."""
    return [r["id"] for r in await conn.fetch(DUE, limit)]


async def due_one(conn: asyncpg.Connection, campaign_id: UUID) -> bool:
    """Whether the campaign is still due, locking it until the caller's transaction ends."""
    return await conn.fetchval(DUE_ONE, campaign_id) is not None


async def variant_figures(conn: asyncpg.Connection, campaign_id: UUID) -> dict[str, dict[str, Any]]:
    return {r["name"]: dict(r) for r in await conn.fetch(VARIANT_FIGURES, campaign_id)}


async def decide(
    conn: asyncpg.Connection, campaign_id: UUID, winner: str, decision: dict[str, Any], message: str, params: list[Any]
) -> str:
    """DECIDE, with the winner's `message` expression (`templating.sql_expression` from $4)."""
    return await conn.execute(DECIDE.format(message=message), campaign_id, winner, decision, *params)
