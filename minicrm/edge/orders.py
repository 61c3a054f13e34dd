"""`POST /api/orders` (one or many; re-posting an id updates it) and `GET /api/orders`."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
from aiohttp import web

from minicrm import sql, topics
from minicrm.edge.errors import Conflict, InvalidInput
from minicrm.edge.listing import SortOrder, listing
from minicrm.edge.requests import filters, page, validate_items
from minicrm.edge.responses import json_response
from minicrm.edge.schemas import OrderIn
from minicrm.edge.state import POOL, PUBLISHER, SETTINGS
from minicrm.order_effects import ORDER_STATUSES
from minicrm.records import OrderBatch

NEWEST_FIRST = SortOrder((("o.order_date", "timestamptz"), ("o.id", "text")), descending=True)


def to_record(order: OrderIn, now: datetime) -> dict:
    """The order as an OrderBatch item; `accepted_at` (epoch seconds) times the journeys it starts."""
    return {
        "id": order.id,
        "customer_id": str(order.customerId),
        "order_date": (order.order_date or now).isoformat(),
        "amount": str(order.amount),
        "status": order.status,
        "items": [
            {"name": i.name, "quantity": i.quantity, "unitPrice": str(i.unitPrice), "total": str(i.total)}
            for i in order.items
        ],
        "accepted_at": now.timestamp(),
    }


async def unknown_customers(pool: asyncpg.Pool, ids: set[UUID], wait: float) -> set[UUID]:
    """The ids with no stored customer, after waiting up to `wait` seconds for customers
    posted moments before (they travel on their own topic)."""
    deadline = time.monotonic() + wait
    while True:
        async with sql.planning.by_key(pool) as conn:
            ids = ids - {r["id"] for r in await sql.customers.existing(conn, list(ids))}
        if not ids or time.monotonic() >= deadline:
            return ids
        await asyncio.sleep(0.1)


async def claim_orders(pool: asyncpg.Pool, orders: list[OrderIn]) -> None:
    """An order belongs to one customer for good: each id is claimed for its customer, and one
    posted for another (stored, on its way through the pipeline, or earlier in this request) is a
    conflict (409 naming the items, and nothing of the request is claimed)."""
    first: dict[str, UUID] = {}  # each id's customer, as first given in this request
    for o in orders:
        first.setdefault(o.id, o.customerId)
    async with sql.planning.by_key(pool) as conn:
        await sql.orders.claim(conn, list(first), list(first.values()))
        owners = {r["id"]: r["customer_id"] for r in await sql.orders.owners(conn, list(first))}
        problems = [
            {
                "item": i,
                "field": "customerId",
                "message": f"order {o.id} belongs to customer {owners[o.id]}, not {o.customerId}",
            }
            for i, o in enumerate(orders)
            if owners[o.id] != o.customerId
        ]
        if problems:
            raise Conflict(problems)  # rolls the claims back


async def create(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    orders = validate_items(OrderIn, await request.read(), settings.max_items)
    unknown = await unknown_customers(request.app[POOL], {o.customerId for o in orders}, settings.customer_wait)
    if unknown:
        raise InvalidInput(
            [
                {"item": i, "field": "customerId", "message": f"customer {o.customerId} does not exist"}
                for i, o in enumerate(orders)
                if o.customerId in unknown
            ]
        )
    await claim_orders(request.app[POOL], orders)
    now = datetime.now(UTC)
    count = await request.app[PUBLISHER].publish_batched(
        topics.ORDERS,
        ((o.id, to_record(o, now)) for o in orders),
        lambda group: OrderBatch.encode(orders=group),
        partitions=settings.partitions,
    )
    return json_response({"message": f"{count} order(s) accepted for processing", "count": count}, status=202)


async def list_orders(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    listed = page(request, settings)
    where, params = filters(
        request, uuids={"customerId": "o.customer_id"}, choices={"status": ("o.status", ORDER_STATUSES)}
    )
    return await listing(
        request,
        request.app[POOL],
        listed,
        select=sql.orders.COLUMNS,
        source="orders o",
        where=where,
        params=params,
        order=NEWEST_FIRST,
    )
