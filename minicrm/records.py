"""The records on the topics. Plain JSON (no Faust metadata), so any producer can write them.

Every topic carries a batch per record: the HTTP API and the vendor take and give
arrays, and one Kafka record per array (per partition) keeps Faust's per-record cost
off the hot path and lets each agent write a record in one transaction. A batch's items
are plain JSON objects, not nested records: Faust builds a nested record field by field,
a fifth of the worker's time at ingest, and the writers read just the fields they store.
An event is acknowledged only after its batch is stored; the ingest agents write the records
a partition has ready together (`batching.ready_items`). Correctness never depends on batch
boundaries: every write is idempotent per customer email, order id or message id.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import faust
import orjson


class Record(faust.Record, include_metadata=False, serializer="json"):
    @classmethod
    def encode(cls, **fields: Any) -> bytes:
        """JSON that reads back as `cls(**fields)`, from the fields' plain JSON values (nested
        records as dicts; fields left out take their defaults), without building Faust objects:
        the edge and segmentation encode thousands of items a record, and Faust's construction
        and encoding took about two thirds of the edge's time per item."""
        return orjson.dumps(fields)


class CustomerBatch(Record):
    """Customers whose emails hash to one partition, in the order they were posted, each
    `{id, name, email, phone, city, visit, timezone}` (the last four may be null or left out)."""

    customers: list[dict[str, Any]]


class OrderBatch(Record):
    """Orders whose ids hash to one partition, in the order they were posted, each
    `{id, customer_id, order_date, amount, status, items}` (`amount` a decimal string,
    `order_date` ISO 8601, `items` `{name, quantity, unitPrice, total}` each)."""

    orders: list[dict[str, Any]]


class CampaignRequest(Record):
    """Run (or, after a resume, carry on with) a campaign. A resend's audience is the customers
    of campaign `resend_of` whose messages ended in `resend_statuses`, not the segment's."""

    id: str
    user_id: str
    name: str
    segment: dict[str, Any]
    message: str
    intent: str
    rate_per_second: float | None = None
    resend_of: str | None = None
    resend_statuses: list[str] | None = None
    attribution_days: int = 7
    holdout_percent: int = 0
    variants: list[dict[str, Any]] | None = None  # [{name, message, weight}]; the first is the control
    ab_test: dict[str, Any] | None = None  # {testPercent, metric, decideAfterSeconds}
    assignment_seed: str | None = None  # holdout and variants are drawn by it (a resend's is its first's)

    @property
    def seed(self) -> str:
        return self.assignment_seed or self.id

    def row(self, status: str, send_at: datetime | None = None) -> tuple:
        """The values of its campaigns row, in `sql.campaigns.CREATE`'s order."""
        return (
            UUID(self.id),
            self.user_id,
            self.name,
            self.intent,
            self.segment,
            self.message,
            status,
            send_at,
            self.rate_per_second,
            UUID(self.resend_of) if self.resend_of else None,
            self.resend_statuses,
            self.attribution_days,
            self.holdout_percent,
            self.variants,
            self.ab_test,
            UUID(self.assignment_seed) if self.assignment_seed else None,
        )

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> CampaignRequest:
        """The request that runs a stored campaign (`sql.campaigns.REQUEST_COLUMNS`): a scheduled
        one when it is due, a resumed one again."""
        return cls(
            id=str(row["id"]),
            user_id=row["user_id"],
            name=row["name"],
            segment=row["segment"],
            message=row["message"],
            intent=row["intent"] or "",
            rate_per_second=row["rate_per_second"],
            resend_of=str(row["resend_of"]) if row["resend_of"] else None,
            resend_statuses=row["resend_statuses"],
            attribution_days=row["attribution_days"],
            holdout_percent=row["holdout_percent"],
            variants=row["variants"],
            ab_test=row["ab_test"],
            assignment_seed=str(row["assignment_seed"]) if row["assignment_seed"] else None,
        )


def delivery(
    comm_id: Any, campaign_id: Any, customer_id: Any, name: str, email: str, phone: str | None, message: str
) -> dict[str, Any]:
    """One message in the vendor's wire format (the original vendor's field names)."""
    return {
        "commId": str(comm_id),
        "campaignId": str(campaign_id),
        "customerId": str(customer_id),
        "name": name,
        "email": email,
        "phone": phone,
        "personalized_msg": message,
    }


class DeliveryBatch(Record):
    """Up to `batch_size` messages of one campaign, each in the vendor's wire format. A batch of
    an older delivery `epoch` than the campaign's (it was resumed since) is dropped; a `test`
    batch goes out whatever the campaign's status."""

    campaign_id: str
    deliveries: list[dict[str, Any]]
    epoch: int = 0
    test: bool = False


class ReceiptBatch(Record):
    """Receipts of one campaign from one vendor call: `{commId, status, reason}` each."""

    campaign_id: str
    receipts: list[dict[str, Any]]


class CampaignDone(Record):
    campaign_id: str


class Outcomes(Record):
    """Messages of a campaign that one receipts batch moved to SENT or FAILED (for the live view)."""

    campaign_id: str
    sent: int
    failed: int


class CustomerChanges(Record):
    """Customers of one partition whose stored data changed (ingest writes these after its
    transaction commits, keyed by customer), each `{customer_id, order_id?, order_status?,
    accepted_at?}`: the order stored, and when its record reached Kafka (epoch seconds), so a
    journey can tell the time from the edge's answer to the message."""

    changes: list[dict[str, Any]]


class VendorCall(Record):
    """One vendor call's outcome: `ok` when the vendor answered (took or refused the messages)."""

    vendor: str
    ok: bool
