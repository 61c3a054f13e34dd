"""Order ingest: each order once per id, its customer's aggregates moved in the same transaction."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from decimal import Decimal
from typing import Sequence
from uuid import UUID

import asyncpg

from minicrm import order_effects
from minicrm.order_effects import OrderState
from minicrm.sql import queries
from minicrm.streams.app import app, orders_topic, settings
from minicrm.streams.batching import Rejected, latest_by, retry_forever, store
from minicrm.streams.records import OrderRecord
from minicrm.streams.resources import pool

def state(record: OrderRecord) -> OrderState:
    return OrderState(
        record.customer_id, record.status, Decimal(record.amount), datetime.fromisoformat(record.order_date)
    )


async def write_orders(conn: asyncpg.Connection, batch: Sequence[OrderRecord]) -> None:
    rows = latest_by(batch, "id")
    ids = [r.id for r in rows]
    old = {
        r["id"]: OrderState(str(r["customer_id"]), r["status"], r["amount"], r["order_date"])
        for r in await conn.fetch(queries.LOCK_ORDERS, ids)
    }
    for r in rows:
        if r.id in old and old[r.id].customer_id != r.customer_id:
            raise Rejected(f"order {r.id} belongs to customer {old[r.id].customer_id}, not {r.customer_id}")
    new = [state(r) for r in rows]
    await conn.execute(
        queries.UPSERT_ORDERS,
        ids,
        [UUID(s.customer_id) for s in new],
        [s.order_date for s in new],
        [s.amount for s in new],
        [s.status for s in new],
    )
    items = [(r.id, i, it["name"], it["quantity"], Decimal(str(it["unitPrice"])), Decimal(str(it["total"])))
             for r in rows for i, it in enumerate(r.items)]
    await conn.execute(queries.DELETE_ORDER_ITEMS, ids)
    if items:
        await conn.execute(queries.INSERT_ORDER_ITEMS, *zip(*items))
    deltas = order_effects.fold((old.get(r.id), s) for r, s in zip(rows, new))
    if deltas:
        await conn.execute(
            queries.APPLY_CUSTOMER_DELTAS,
            [UUID(cid) for cid in deltas],
            [d.spend for d in deltas.values()],
            [d.visits for d in deltas.values()],
            [d.last_order_date for d in deltas.values()],
        )


async def wait_for_customers(db: asyncpg.Pool, batch: Sequence[OrderRecord]) -> None:
    """Customers and orders travel on separate topics; give a new customer time to land."""
    wanted = {UUID(r.customer_id) for r in batch}
    deadline = time.monotonic() + settings.customer_wait
    while time.monotonic() < deadline:
        found = await retry_forever(lambda: db.fetch(queries.EXISTING_CUSTOMERS, list(wanted)), "customer check")
        wanted -= {r["id"] for r in found}
        if not wanted:
            return
        await asyncio.sleep(0.25)


@app.agent(orders_topic)
async def ingest_orders(stream):
    async for batch in stream:
        db = await pool()
        await wait_for_customers(db, batch.orders)
        await store(db, orders_topic.get_topic_name(), batch.orders, write_orders)
