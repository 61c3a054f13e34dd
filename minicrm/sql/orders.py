"""Orders: stored once per id with their items, their customers moved by their effects in the
same transaction, and the edge's claims of order ids for their customers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from minicrm.sql.planning import Db

COLUMNS = """
o.id, o.customer_id AS "customerId", o.order_date, o.amount, o.status, o.created_at AS "createdAt",
coalesce((SELECT json_agg(json_build_object('name', i.name, 'quantity', i.quantity,
                                            'unitPrice', i.unit_price, 'total', i.total) ORDER BY i.position)
          FROM order_items i WHERE i.order_id = o.id), '[]') AS items
"""

# Joins on unnest, not `= ANY($1)`: the generic plan of a prepared `= ANY` can settle on a
# sequential scan while the table is small and keep it as the table grows.
LOCK = """
SELECT o.id, o.customer_id, o.status, o.amount, o.order_date
FROM orders o JOIN unnest($1::text[]) AS t(id) ON o.id = t.id
FOR UPDATE OF o
"""

UPSERT = """
INSERT INTO orders AS o (id, customer_id, order_date, amount, status)
SELECT * FROM unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::numeric[], $5::text[])
ON CONFLICT (id) DO UPDATE
SET order_date = excluded.order_date, amount = excluded.amount, status = excluded.status, updated_at = now()
WHERE (o.order_date, o.amount, o.status) IS DISTINCT FROM (excluded.order_date, excluded.amount, excluded.status)
"""

DELETE_ITEMS = "DELETE FROM order_items i USING unnest($1::text[]) AS t(id) WHERE i.order_id = t.id"

ITEMS = ("order_items", ("order_id", "position", "name", "quantity", "unit_price", "total"))  # COPied

# Orders of one customer arrive on different partitions, written in parallel: every batch locks
# its customers in id order before it moves any, so two batches wait for each other instead of
# deadlocking. NO KEY UPDATE, the UPDATE's own lock. ${ids}: the customer ids.
LOCK_CUSTOMERS_TEMPLATE = """
SELECT c.id FROM customers c JOIN unnest(${ids}::uuid[]) AS t(id) ON c.id = t.id ORDER BY c.id FOR NO KEY UPDATE OF c
"""
LOCK_CUSTOMERS = LOCK_CUSTOMERS_TEMPLATE.format(ids=1)

# A client may set a customer's visit count below its completed orders' (`customers.SET_GIVEN_VISITS`):
# an order leaving COMPLETED for PENDING then takes it to 0, not below.
APPLY_CUSTOMER_DELTAS = """
UPDATE customers c
SET total_spend = c.total_spend + d.spend,
    visit = greatest(c.visit + d.visits, 0),
    last_order_date = greatest(c.last_order_date, d.last_order_date),
    updated_at = now()
FROM unnest($1::uuid[], $2::numeric[], $3::int[], $4::timestamptz[]) AS d(id, spend, visits, last_order_date)
WHERE c.id = d.id
"""

# The edge claims order ids ($1) for their customers ($2) before it accepts them, in a transaction
# with OWNERS: a claim made meanwhile by another request is waited for, then seen.
CLAIM = """
INSERT INTO order_claims (id, customer_id)
SELECT * FROM unnest($1::text[], $2::uuid[])
ON CONFLICT (id) DO NOTHING
"""
# Each order id's customer: the stored order's, else the first claim's (an order on its way).
OWNERS = """
SELECT t.id, coalesce(o.customer_id, c.customer_id) AS customer_id
FROM unnest($1::text[]) AS t(id)
LEFT JOIN orders o ON o.id = t.id
LEFT JOIN order_claims c ON c.id = t.id
"""

# Claims of orders that are stored, at most $1 of them: from then on the stored order's customer
# answers for its id (OWNERS), so its claim is dropped; claims of orders on their way stay.
PRUNE_CLAIMS = """
DELETE FROM order_claims WHERE id IN (SELECT c.id FROM order_claims c JOIN orders o ON o.id = c.id LIMIT $1)
"""


async def lock(conn: asyncpg.Connection, ids: list[str]) -> list[asyncpg.Record]:
    """The stored orders among `ids`, locked until the end of the caller's transaction."""
    return await conn.fetch(LOCK, ids)


async def upsert(
    conn: asyncpg.Connection,
    ids: list[str],
    customer_ids: list[str],
    order_dates: list[datetime],
    amounts: list[Decimal],
    statuses: list[str],
) -> str:
    return await conn.execute(UPSERT, ids, customer_ids, order_dates, amounts, statuses)


async def delete_items(conn: asyncpg.Connection, order_ids: list[str]) -> str:
    return await conn.execute(DELETE_ITEMS, order_ids)


async def copy_items(conn: asyncpg.Connection, items: Sequence[tuple[Any, ...]]) -> None:
    """Order items, a row per item in ITEMS' columns, COPied in the caller's transaction."""
    table, columns = ITEMS
    await conn.copy_records_to_table(table, records=items, columns=columns)


async def lock_customers(conn: asyncpg.Connection, customer_ids: list[Any]) -> str:
    """LOCK_CUSTOMERS, until the end of the caller's transaction."""
    return await conn.execute(LOCK_CUSTOMERS, customer_ids)


async def apply_customer_deltas(
    conn: asyncpg.Connection,
    customer_ids: Sequence[str | UUID],
    spends: Sequence[Decimal],
    visits: Sequence[int],
    last_order_dates: Sequence[datetime | None],
) -> str:
    return await conn.execute(APPLY_CUSTOMER_DELTAS, customer_ids, spends, visits, last_order_dates)


async def claim(conn: asyncpg.Connection, ids: list[str], customer_ids: list[UUID]) -> str:
    """CLAIM, in the caller's transaction (with `owners`)."""
    return await conn.execute(CLAIM, ids, customer_ids)


async def owners(conn: asyncpg.Connection, ids: list[str]) -> list[asyncpg.Record]:
    """(id, customer_id) of each order id: the stored order's customer, else the first claim's."""
    return await conn.fetch(OWNERS, ids)


async def prune_claims(conn: Db, limit: int) -> str:
    return await conn.execute(PRUNE_CLAIMS, limit)
