"""The records on the topics. Plain JSON (no Faust metadata), so any producer can write them.

Every topic carries a batch per record: the HTTP API and the vendor take and give
arrays, and one Kafka record per array (per partition) keeps Faust's per-record cost
off the hot path and lets each agent write a record in one transaction. Agents iterate
record by record, so an event is acknowledged only after its batch is stored (Faust's
`take()` stalled partitions here under load). Correctness never depends on batch
boundaries: every write is idempotent per customer email, order id or message id.
"""

from __future__ import annotations

from typing import Any

import faust


class Record(faust.Record, include_metadata=False, serializer="json"):
    pass


class CustomerRecord(Record):
    id: str
    name: str
    email: str
    phone: str | None = None
    city: str | None = None
    visit: int | None = None


class CustomerBatch(Record):
    """Customers whose emails hash to one partition, in the order they were posted."""

    customers: list[CustomerRecord]


class OrderRecord(Record):
    id: str
    customer_id: str
    order_date: str
    amount: str
    status: str
    items: list[dict[str, Any]]


class OrderBatch(Record):
    """Orders whose ids hash to one partition, in the order they were posted."""

    orders: list[OrderRecord]


class CampaignRequest(Record):
    id: str
    user_id: str
    name: str
    segment: dict[str, Any]
    message: str
    intent: str


class DeliveryBatch(Record):
    """Up to `batch_size` messages of one campaign, each in the vendor's wire format."""

    campaign_id: str
    deliveries: list[dict[str, Any]]


class ReceiptBatch(Record):
    """Receipts of one campaign from one vendor call: `{commId, status, reason}` each."""

    campaign_id: str
    receipts: list[dict[str, Any]]


class CampaignDone(Record):
    campaign_id: str
