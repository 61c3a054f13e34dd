"""The records on the topics. Plain JSON (no Faust metadata), so any producer can write them.

Hot-path topics (deliveries, receipts) carry a batch per record: the vendor's and the
receipt endpoint's wire format is an array, and one Kafka record per array keeps the
per-record overhead of Faust off the hot path. Correctness never depends on batch
boundaries: every write is idempotent per message id.
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


class OrderRecord(Record):
    id: str
    customer_id: str
    order_date: str
    amount: str
    status: str
    items: list[dict[str, Any]]


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
