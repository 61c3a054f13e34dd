"""`POST /api/customers` (one or many, upsert by email) and `POST /api/customers/get`."""

from __future__ import annotations

import hashlib
import uuid

from aiohttp import web

from minicrm import sql, topics
from minicrm.edge.listing import SortOrder, listing
from minicrm.edge.requests import page, read_json, segment_condition, validate_items
from minicrm.edge.responses import json_response
from minicrm.edge.schemas import CustomerIn
from minicrm.edge.state import POOL, PUBLISHER, SETTINGS
from minicrm.records import CustomerBatch

CUSTOMER_NAMESPACE = uuid.UUID("5f1d7e2a-8c2b-4f7e-9a51-6b0c3d2e1f00")
OLDEST_FIRST = SortOrder((("c.created_at", "timestamptz"), ("c.id", "uuid")))


NAMESPACE_SHA1 = hashlib.sha1(CUSTOMER_NAMESPACE.bytes)
VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}  # RFC 4122: 10xx


def customer_id(email: str) -> str:
    """Ids follow from the (unique, lower-cased) email, so a client knows them at once: its
    uuid5 in CUSTOMER_NAMESPACE, written straight from the hex digest (a third of the cost of
    building the UUID object; the edge computes one per customer)."""
    sha1 = NAMESPACE_SHA1.copy()
    sha1.update(email.encode())
    h = sha1.hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"  # version 5


def to_record(customer: CustomerIn) -> dict:
    """The customer as a CustomerBatch item."""
    return {
        "id": customer_id(customer["email"]),
        "name": customer["name"],
        "email": customer["email"],
        "phone": customer.get("phone") or None,
        "city": customer.get("city") or None,
        "visit": customer.get("visit"),
        "timezone": customer.get("timezone") or None,
    }


async def create(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    customers = validate_items(CustomerIn, await request.read(), settings.max_items)
    records = [to_record(c) for c in customers]
    count = await request.app[PUBLISHER].publish_batched(
        topics.CUSTOMERS,
        ((r["email"], r) for r in records),
        lambda group: CustomerBatch.encode(customers=group),
        partitions=settings.partitions,
    )
    return json_response(
        {"message": f"{count} customer(s) accepted for processing", "count": count, "ids": [r["id"] for r in records]},
        status=202,
    )


async def search(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    body = await read_json(request)
    condition, params = segment_condition(body)
    listed = page(request, settings)
    return await listing(
        request,
        request.app[POOL],
        listed,
        select=sql.customers.COLUMNS,
        source="customers c",
        where=condition,
        params=params,
        order=OLDEST_FIRST,
    )
