"""The communication log's rows as the edge reads them, and test sends written to it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from minicrm import campaign_states as states
from minicrm.sql.planning import Db

COLUMNS = """
l.id, l.campaign_id AS "campaignId", l.customer_id AS "customerId", l.customer_name, l.email, l.phone,
l.personalized_msg, l.status, l.reason, l.test, l.variant, l.delivered_at, l.created_at AS "createdAt"
"""

# What a campaign's log listing needs of the campaign: its start and counters.
TOTALS = "c.id, c.created_at, " + ", ".join(c for cs in states.COUNTERS.values() for c in cs)

# A campaign's test sends, in status $2 or all (an index of its own: they are few).
TEST_SENDS = """
SELECT count(*) FROM communication_log WHERE campaign_id = $1 AND test AND ($2::text IS NULL OR status = $2)
"""

INSERT_TEST_MESSAGES = """
INSERT INTO communication_log (id, campaign_id, customer_id, customer_name, email, phone, personalized_msg, test)
SELECT id, $1, customer_id, name, email, phone, message, true
FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[])
     AS t(id, customer_id, name, email, phone, message)
"""


async def total(conn: Db, campaign: asyncpg.Record, status: str | None) -> int:
    """How many log rows campaign `campaign` (read with TOTALS) has, in `status` or all: its
    counters, and the test sends that no counter counts."""
    counted = sum(campaign[c] for s, counters in states.COUNTERS.items() if status in (None, s) for c in counters)
    return counted + await conn.fetchval(TEST_SENDS, campaign["id"], status)


async def insert_test_messages(
    db: Db,
    campaign_id: UUID,
    ids: list[UUID],
    customer_ids: list[Any],
    names: list[str],
    emails: list[str],
    phones: list[str | None],
    messages: list[str],
) -> str:
    """Test sends of the campaign, a row per message (marked `test`: no counter counts them)."""
    return await db.execute(INSERT_TEST_MESSAGES, campaign_id, ids, customer_ids, names, emails, phones, messages)
