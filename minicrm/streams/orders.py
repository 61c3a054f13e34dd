"""Order ingest: each order once per id, its customer's aggregates moved in the same transaction.

An order whose customer is not stored yet (customers travel on their own topic, and a topic
is never trusted) is parked in `parked_orders` in the same transaction, so it holds up no
other order. A timer re-drives parked orders once their customer exists and dead-letters
those still waiting after `parked_order_ttl`. A later record of a parked order id is parked
behind it, so the records of one order are applied in the order they came.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from minicrm import order_effects, sql, topics
from minicrm.order_effects import OrderState
from minicrm.records import OrderBatch
from minicrm.sql.locks import Lock
from minicrm.streams import changes, timers
from minicrm.streams.app import app, settings
from minicrm.streams.batching import Rejected, guarded, latest_by, ready_items, store
from minicrm.streams.resources import pool

orders_topic = app.topic_of(topics.ORDERS)

REDRIVE_BATCH = 5_000
CLAIMS_PRUNED = 10_000  # at most, a tick
Order = dict[str, Any]  # an OrderBatch item


def state(record: Order) -> OrderState:
    return OrderState(
        str(UUID(record["customer_id"])),
        record["status"],
        Decimal(record["amount"]),
        datetime.fromisoformat(record["order_date"]),
    )


def as_batch(orders: list[Order]) -> OrderBatch:
    return OrderBatch(orders=orders)


async def write_orders(conn: asyncpg.Connection, batch: Sequence[Order]) -> None:
    """Stores orders whose customers exist and are locked (`sql.orders.LOCK_CUSTOMERS`), and moves
    those customers by the orders' effects."""
    rows = latest_by(batch, "id")
    ids = [r["id"] for r in rows]
    new = [state(r) for r in rows]
    old = {
        r["id"]: OrderState(str(r["customer_id"]), r["status"], r["amount"], r["order_date"])
        for r in await sql.orders.lock(conn, ids)
    }
    for order_id, s in zip(ids, new, strict=True):
        if order_id in old and old[order_id].customer_id != s.customer_id:
            raise Rejected(f"order {order_id} belongs to customer {old[order_id].customer_id}, not {s.customer_id}")
    await sql.orders.upsert(
        conn,
        ids,
        [s.customer_id for s in new],
        [s.order_date for s in new],
        [s.amount for s in new],
        [s.status for s in new],
    )
    if old:  # an order's items are stored with it: only an order stored before has any to replace
        await sql.orders.delete_items(conn, list(old))
    items = [
        (r["id"], i, it["name"], it["quantity"], Decimal(str(it["unitPrice"])), Decimal(str(it["total"])))
        for r in rows
        for i, it in enumerate(r["items"])
    ]
    if items:
        await sql.orders.copy_items(conn, items)
    completed = [(order_id, s) for order_id, s in zip(ids, new, strict=True) if s.status == order_effects.COMPLETED]
    if completed:
        await sql.attribution.attribute(
            conn,
            [order_id for order_id, _ in completed],
            [s.customer_id for _, s in completed],
            [s.order_date for _, s in completed],
            [s.amount for _, s in completed],
        )
    deltas = order_effects.fold((old.get(order_id), s) for order_id, s in zip(ids, new, strict=True))
    if deltas:
        await sql.orders.apply_customer_deltas(
            conn,
            list(deltas),
            [d.spend for d in deltas.values()],
            [d.visits for d in deltas.values()],
            [d.last_order_date for d in deltas.values()],
        )


async def ingest(conn: asyncpg.Connection, batch: Sequence[Order]) -> None:
    """Parks the orders that must wait for their customer (or behind a parked record of the
    same order) and writes the others, in one transaction, their customers locked first."""
    customer_ids = [UUID(r["customer_id"]) for r in batch]  # a malformed id is this record's failure
    ids = [r["id"] for r in batch]
    waiting = {r["id"] for r in await sql.parked_orders.that_wait(conn, ids, customer_ids)}
    if waiting:
        parked = [(r, cid) for r, cid in zip(batch, customer_ids, strict=True) if r["id"] in waiting]
        await sql.parked_orders.park(
            conn,
            [r["id"] for r, _ in parked],
            [cid for _, cid in parked],
            [orjson.dumps(r).decode() for r, _ in parked],
        )
    ready = [r for r in batch if r["id"] not in waiting]
    if ready:
        await write_orders(conn, ready)


@app.agent(orders_topic, isolated_partitions=True)  # partitions in parallel, each in order
async def ingest_orders(stream):
    async for taken, orders in ready_items(stream, lambda batch: batch.orders):
        db, topic = await pool(), orders_topic.get_topic_name()
        await guarded(db, topic, as_batch(orders), lambda: store(db, topic, orders, ingest, as_batch), records=taken)
        await changes.announce(changes.of_orders(orders))


@app.timer(1.0)
async def redrive_parked_orders() -> None:
    await timers.exclusive(Lock.REDRIVE_PARKED_ORDERS, "re-driving parked orders", redrive)


async def write_parked(conn: asyncpg.Connection, batch: Sequence[Order]) -> None:
    await sql.orders.lock_customers(conn, [r["customer_id"] for r in batch])
    await write_orders(conn, batch)


async def redrive(conn: asyncpg.Connection) -> None:
    """Writes parked orders whose customer has arrived; dead-letters those that waited too long."""
    topic = orders_topic.get_topic_name()
    rows = await sql.parked_orders.ready(conn, REDRIVE_BATCH)
    if rows:
        records = [orjson.loads(r["payload"]) for r in rows]
        await store(await pool(), topic, records, write_parked, as_batch)
        await sql.parked_orders.unpark(conn, [r["seq"] for r in rows])
        await changes.announce(changes.of_orders(records))
    await sql.parked_orders.expire(conn, topic, settings.parked_order_ttl)


@app.timer(10.0)
async def prune_order_claims() -> None:
    await timers.exclusive(Lock.PRUNE_ORDER_CLAIMS, "pruning order claims", prune_claims)


async def prune_claims(conn: asyncpg.Connection) -> None:
    """Drops the edge's claims of orders that are stored (`sql.orders.PRUNE_CLAIMS`), so that
    the table holds the orders on their way, not every order id ever posted."""
    await sql.orders.prune_claims(conn, CLAIMS_PRUNED)
