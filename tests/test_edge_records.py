"""The edge encodes batch records from plain values; the worker reads them as Faust records."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import orjson

from minicrm.edge import customers, orders
from minicrm.edge.requests import validate_items
from minicrm.edge.schemas import CustomerIn, OrderIn
from minicrm.order_effects import OrderState
from minicrm.records import CustomerBatch, OrderBatch
from minicrm.streams import orders as order_stream


def test_customer_ids_are_the_uuid5_of_the_email():
    emails = ["a@b.co", "ÿ.unicode+tag@exämple.com", "x" * 240 + "@e.io", *(f"p{i}@e.io" for i in range(64))]
    assert {customers.customer_id(e)[19] for e in emails} == set("89ab")  # every variant digit is met
    for email in emails:
        assert customers.customer_id(email) == str(uuid.uuid5(customers.CUSTOMER_NAMESPACE, email))


def test_encoded_batches_read_back_as_the_records_faust_would_write():
    [customer] = validate_items(
        CustomerIn, orjson.dumps({"name": "Asha", "email": "Asha@Example.com", "phone": "9876543210"}), 1
    )
    record = customers.to_record(customer)
    assert CustomerBatch.encode(customers=[record]) == CustomerBatch(customers=[record]).dumps()
    read = CustomerBatch.loads(CustomerBatch.encode(customers=[record])).customers[0]
    assert read == {
        "id": customers.customer_id("asha@example.com"),
        "name": "Asha",
        "email": "asha@example.com",
        "phone": "9876543210",
        "city": None,
        "visit": None,
        "timezone": None,
    }

    order = OrderIn.model_validate(
        {
            "id": 7,
            "customerId": str(uuid.uuid4()),
            "amount": "20.00",
            "status": "PENDING",
            "items": [{"name": "tea", "quantity": 2, "unitPrice": 10, "total": 20}],
        }
    )
    now = datetime(2026, 11, 29, tzinfo=UTC)
    read = OrderBatch.loads(OrderBatch.encode(orders=[orders.to_record(order, now)])).orders[0]
    assert (read["id"], read["items"][0]["quantity"]) == ("7", 2)
    assert order_stream.state(read) == OrderState(str(order.customerId), "PENDING", Decimal("20"), now)
