"""Customer ingest: upsert by email, a batch per transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from minicrm import sql, topics
from minicrm.records import CustomerBatch
from minicrm.streams import changes
from minicrm.streams.app import app
from minicrm.streams.batching import guarded, ready_items, store
from minicrm.streams.resources import pool

customers_topic = app.topic_of(topics.CUSTOMERS)

Customer = dict[str, Any]  # a CustomerBatch item


def merge_by_email(batch: Sequence[Customer]) -> list[Customer]:
    """One record per email, as if the batch's records were applied one after another:
    a later record's name wins, and its optional fields win where it gives them."""
    merged: dict[str, Customer] = {}
    for r in batch:
        old = merged.get(r["email"])
        merged[r["email"]] = r if old is None else old | {key: value for key, value in r.items() if value is not None}
    return list(merged.values())


async def write_customers(conn: asyncpg.Connection, batch: Sequence[Customer]) -> None:
    rows = [
        (c["id"], c["name"], c["email"], c.get("phone"), c.get("city"), c.get("visit"), c.get("timezone"))
        for c in merge_by_email(batch)
    ]
    await sql.customers.upsert(conn, rows)


def as_batch(customers: list[Customer]) -> CustomerBatch:
    return CustomerBatch(customers=customers)


@app.agent(customers_topic, isolated_partitions=True)  # partitions in parallel, each in order
async def ingest_customers(stream):
    async for taken, customers in ready_items(stream, lambda batch: batch.customers):
        db, topic = await pool(), customers_topic.get_topic_name()
        await guarded(
            db,
            topic,
            as_batch(customers),
            lambda: store(db, topic, customers, write_customers, as_batch),
            records=taken,
        )
        await changes.announce(changes.of_customers(customers))
