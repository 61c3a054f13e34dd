"""`POST /api/orders` (one or many; re-posting an id updates it) and `GET /api/orders`."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import get_args

from aiohttp import web

from minicrm.edge.listing import paged
from minicrm.edge.requests import filters, page, read_json, validate_many
from minicrm.edge.responses import json_response
from minicrm.edge.schemas import OrderIn, OrderStatus
from minicrm.edge.state import POOL, PUBLISHER, SETTINGS
from minicrm.sql import queries
from minicrm.streams.records import OrderBatch, OrderRecord

STATUSES = get_args(OrderStatus)


def to_record(order: OrderIn, now: datetime) -> OrderRecord:
    return OrderRecord(
        id=order.id,
        customer_id=str(order.customerId),
        order_date=(order.order_date or now).isoformat(),
        amount=str(order.amount),
        status=order.status,
        items=[{"name": i.name, "quantity": i.quantity, "unitPrice": str(i.unitPrice), "total": str(i.total)}
               for i in order.items],
    )


async def create(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    orders = validate_many(OrderIn, await read_json(request), settings.max_items)
    now = datetime.now(timezone.utc)
    count = await request.app[PUBLISHER].publish_partitioned(
        settings.topic("orders"), settings.partitions, ((o.id, to_record(o, now)) for o in orders),
        lambda group: OrderBatch(orders=group),
    )
    return json_response({"message": f"{count} order(s) accepted for processing", "count": count}, status=202)


async def list_orders(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    limit, offset = page(request, settings.page_size, settings.max_page_size)
    where, params = filters(request, uuids={"customerId": "o.customer_id"}, choices={"status": ("o.status", STATUSES)})
    return await paged(
        request.app[POOL], select=queries.ORDER_COLUMNS, source="orders o", where=where,
        params=params, order="o.order_date DESC, o.id", limit=limit, offset=offset,
    )
