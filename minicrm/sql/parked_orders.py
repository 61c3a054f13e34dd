"""Parked orders: those whose customer is not stored yet wait in `parked_orders`, are written
once it is, and go to dead letters if it never comes."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from minicrm.sql.orders import LOCK_CUSTOMERS_TEMPLATE

# Orders ($1 ids, $2 customer ids) that must wait: their customer is not stored yet, or an
# earlier record of the same order is parked. The customers that are stored are locked as
# `orders.LOCK_CUSTOMERS` locks them (in id order), in the same round trip.
THAT_WAIT = f"""
WITH stored AS MATERIALIZED ({LOCK_CUSTOMERS_TEMPLATE.format(ids=2)})
SELECT t.id FROM unnest($1::text[], $2::uuid[]) AS t(id, customer_id)
WHERE t.customer_id NOT IN (SELECT id FROM stored)
   OR EXISTS (SELECT 1 FROM parked_orders p WHERE p.order_id = t.id)
"""

PARK = """
INSERT INTO parked_orders (order_id, customer_id, payload)
SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[])
"""

# Parked orders whose customer exists now, oldest first, unless an earlier record of the same
# order still waits (its records are applied in order).
READY = """
SELECT p.seq, p.payload FROM parked_orders p
WHERE EXISTS (SELECT 1 FROM customers c WHERE c.id = p.customer_id)
  AND NOT EXISTS (SELECT 1 FROM parked_orders q
                  WHERE q.order_id = p.order_id AND q.seq < p.seq
                    AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = q.customer_id))
ORDER BY p.seq
LIMIT $1
"""

UNPARK = "DELETE FROM parked_orders WHERE seq = ANY($1::bigint[])"

# Parked orders that waited past $2 seconds go to dead letters ($1 their topic) in the same
# statement that unparks them, in the form a replay publishes.
EXPIRE = """
WITH expired AS (
    DELETE FROM parked_orders
    WHERE parked_at < now() - make_interval(secs => $2)
      AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = customer_id)
    RETURNING order_id, customer_id, payload, parked_at
)
INSERT INTO dead_letters (topic, key, payload, reason)
SELECT $1, order_id, '{"orders":[' || payload || ']}',
       format('customer %s does not exist (the order waited for it since %s)', customer_id, parked_at)
FROM expired
"""


async def that_wait(conn: asyncpg.Connection, ids: list[str], customer_ids: list[UUID]) -> list[asyncpg.Record]:
    """The ids of the orders that must wait (THAT_WAIT), their stored customers locked in the
    caller's transaction."""
    return await conn.fetch(THAT_WAIT, ids, customer_ids)


async def park(conn: asyncpg.Connection, ids: list[str], customer_ids: list[UUID], payloads: list[str]) -> str:
    return await conn.execute(PARK, ids, customer_ids, payloads)


async def ready(conn: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    """(seq, payload) of up to `limit` parked orders whose customer exists now, oldest first."""
    return await conn.fetch(READY, limit)


async def unpark(conn: asyncpg.Connection, seqs: list[Any]) -> str:
    return await conn.execute(UNPARK, seqs)


async def expire(conn: asyncpg.Connection, topic: str, ttl: float) -> str:
    return await conn.execute(EXPIRE, topic, ttl)
