"""Customers: a batch upserted by email through a staging table, and the customers' reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from minicrm.sql.planning import Db

# Every pooled connection holds this staging table for its session (`db.create_pool`): a batch
# of customers is COPied into it (binary COPY costs PostgreSQL and the client less than array
# parameters) and applied by one set-based statement in the same transaction (`store`'s); each
# commit empties it. It needs a session per connection, as asyncpg's statement cache does (a
# transaction-pooling PgBouncer in between would break both).
STAGING_TABLES = """
CREATE TEMP TABLE IF NOT EXISTS incoming_customers (
    id uuid, name text, email text, phone text, city text, visit integer, timezone text
) ON COMMIT DELETE ROWS
"""
INCOMING = ("incoming_customers", ("id", "name", "email", "phone", "city", "visit", "timezone"))
VISIT = INCOMING[1].index("visit")

UPSERT = """
INSERT INTO customers AS c (id, name, email, phone, city, visit, timezone)
SELECT id, name, email, phone, city, coalesce(visit, 0), timezone FROM incoming_customers
ON CONFLICT (email) DO UPDATE
SET name = excluded.name,
    phone = coalesce(excluded.phone, c.phone),
    city = coalesce(excluded.city, c.city),
    timezone = coalesce(excluded.timezone, c.timezone),
    updated_at = now()
"""

SET_GIVEN_VISITS = """
UPDATE customers c SET visit = t.visit, updated_at = now()
FROM incoming_customers t
WHERE c.email = t.email AND t.visit IS NOT NULL AND c.visit <> t.visit
"""

EXISTING = "SELECT c.id FROM customers c JOIN unnest($1::uuid[]) AS t(id) ON c.id = t.id"

COLUMNS = """
c.id, c.name, c.email, c.phone, c.city, c.total_spend, c.visit, c.last_order_date,
c.created_at AS "createdAt"
"""

# Customers by id ($1) or email ($2), for a test send.
BY_ID_OR_EMAIL = """
SELECT c.id, c.name, c.email, c.phone, c.city,
       EXISTS (SELECT 1 FROM suppressions s WHERE s.email = c.email) AS opted_out
FROM customers c WHERE c.id = ANY($1::uuid[]) OR c.email = ANY($2::text[])
"""

EMAILS = "SELECT c.id, c.email FROM customers c JOIN unnest($1::uuid[]) AS t(id) ON c.id = t.id"


async def create_staging(conn: asyncpg.Connection) -> None:
    """STAGING_TABLES, for the session of `conn`."""
    await conn.execute(STAGING_TABLES)


async def upsert(conn: asyncpg.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Upserts customers by email, one row (INCOMING's columns) per email, in the caller's
    transaction: COPied into the staging table, then applied; a visit count given replaces the
    stored one."""
    table, columns = INCOMING
    await conn.copy_records_to_table(table, records=rows, columns=columns)
    await conn.execute(UPSERT)
    if any(row[VISIT] is not None for row in rows):
        await conn.execute(SET_GIVEN_VISITS)


async def existing(conn: Db, ids: list[UUID]) -> list[asyncpg.Record]:
    """The ids of `ids` that are stored customers (`planning.by_key` finds them by key)."""
    return await conn.fetch(EXISTING, ids)


async def by_id_or_email(conn: Db, ids: list[UUID], emails: list[str]) -> list[asyncpg.Record]:
    return await conn.fetch(BY_ID_OR_EMAIL, ids, emails)


async def emails(db: Db, ids: list[Any]) -> list[asyncpg.Record]:
    """(id, email) of the stored customers among `ids`."""
    return await db.fetch(EMAILS, ids)
