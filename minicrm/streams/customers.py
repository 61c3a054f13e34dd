"""Customer ingest: upsert by email, a batch per transaction."""

from __future__ import annotations

from typing import Sequence

import asyncpg

from minicrm.sql import queries
from minicrm.streams.app import app, customers_topic, settings
from minicrm.streams.batching import latest_by, store
from minicrm.streams.records import CustomerRecord
from minicrm.streams.resources import pool


async def write_customers(conn: asyncpg.Connection, batch: Sequence[CustomerRecord]) -> None:
    rows = latest_by(batch, "email")
    columns = list(zip(*((r.id, r.name, r.email, r.phone, r.city, r.visit) for r in rows)))
    await conn.execute(queries.UPSERT_CUSTOMERS, *columns)
    await conn.execute(queries.SET_GIVEN_VISITS, columns[2], columns[5])


@app.agent(customers_topic)
async def ingest_customers(stream):
    async for batch in stream.take(settings.batch_size, within=settings.batch_within):
        await store(await pool(), customers_topic.get_topic_name(), batch, write_customers)
