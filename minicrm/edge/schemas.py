"""Request bodies: pydantic models, and typed dicts for what comes by the thousand (customers,
receipts); unknown fields (owner, counters, spend) are ignored."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, NotRequired
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    field_validator,
    model_validator,
    with_config,
)
from typing_extensions import TypedDict

from minicrm import campaign_states as states
from minicrm import receipt_folding, rules, templating
from minicrm.order_effects import OrderStatus

CENT = Decimal("0.01")

# Text checked by pattern in pydantic's core (no Python call per value: at ingest the edge checks
# tens of thousands of fields a second), and what a value failing each is told (pydantic's own
# message would show the pattern). `requests` words the problems.
ONE_LINE = r"^[^\x00-\x1f\x7f-\x9f]*$"
# One line too: Rust's \s, unlike Python's, leaves out \x1c-\x1f (an email holding one was taken).
EMAIL = r"^[^@\s\x00-\x1f\x7f-\x9f]+@[^@\s\x00-\x1f\x7f-\x9f]+\.[^@\s\x00-\x1f\x7f-\x9f]+$"
PHONE = r"^([0-9]{10})?$"
UUID_TEXT = f"^{receipt_folding.UUID_TEXT}$"
PATTERN_PROBLEMS = {
    ONE_LINE: "Value error, must be one line of text, without control characters",
    EMAIL: "Value error, not a valid email address",
    PHONE: "Value error, phone must be exactly 10 digits",
    UUID_TEXT: "Input should be a valid UUID",
}

Line = Annotated[str, StringConstraints(pattern=ONE_LINE)]  # names, cities, ids: what people paste junk into
# Lower-cased by Python's rules, as the clients that derive a customer's id from it do.
Email = Annotated[str, StringConstraints(max_length=254, pattern=EMAIL), AfterValidator(str.lower)]
UuidText = Annotated[str, StringConstraints(pattern=UUID_TEXT)]
Money = Annotated[Decimal, Field(ge=0, le=Decimal("1e11"), allow_inf_nan=False)]


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; expected an IANA name such as Asia/Kolkata") from None
    return value


TimeZone = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=ONE_LINE), AfterValidator(_zone)]


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


@with_config(ConfigDict(str_strip_whitespace=True, coerce_numbers_to_str=True))  # a phone may come as a number
class CustomerIn(TypedDict):
    """A customer (upserted by email), checked by pydantic's core alone: no model object and no
    Python call per field (9-13 µs a customer at the edge as a model, now 4-5, 2 of them its id).
    Other fields (owner, counters, spend) are dropped; an empty phone or city is none. A phone may
    come as a number (its ten digits); a name, an email or a city may not (their text's length
    would be that of a float written out in full, which no schema can say)."""

    name: Annotated[Line, Strict(), Field(min_length=2, max_length=200)]
    email: Annotated[Email, Strict()]
    phone: NotRequired[Annotated[str | None, StringConstraints(pattern=PHONE)]]
    city: NotRequired[Annotated[Line, Strict(), Field(max_length=100)] | None]
    visit: NotRequired[Annotated[int | None, Field(ge=0, le=1_000_000)]]
    timezone: NotRequired[TimeZone | None]  # an IANA zone: a journey's quiet hours are the customer's


class OrderItemIn(Body):
    name: Line = Field(min_length=1, max_length=200)
    quantity: int = Field(gt=0, le=1_000_000)
    unitPrice: Money
    total: Money

    @model_validator(mode="after")
    def _total(self) -> OrderItemIn:
        if abs(self.quantity * self.unitPrice - self.total) > CENT:
            raise ValueError(f"total {self.total} is not quantity x unitPrice ({self.quantity * self.unitPrice})")
        return self


class OrderIn(Body):
    id: Line = Field(min_length=1, max_length=100)
    customerId: UUID
    amount: Money
    status: OrderStatus
    items: list[OrderItemIn] = Field(default_factory=list, max_length=1000)
    order_date: datetime | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("order_date")
    @classmethod
    def _date(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @model_validator(mode="after")
    def _amount(self) -> OrderIn:
        if self.items:
            total = sum((item.total for item in self.items), Decimal(0))
            tolerance = max(CENT, CENT / 2 * len(self.items))
            if abs(total - self.amount) > tolerance:
                raise ValueError(f"amount {self.amount} does not match the items' total {total}")
        return self


SCHEDULE_SLACK = 300  # seconds a sendAt may lie in the past (clocks differ): it starts at once


def _send_at(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry its UTC offset, e.g. 2030-01-31T09:00:00+05:30")
    if (datetime.now(UTC) - value).total_seconds() > SCHEDULE_SLACK:
        raise ValueError("is in the past")
    return value


SendAt = Annotated[datetime, AfterValidator(_send_at)]


def _template(value: str) -> str:
    templating.parse(value)  # TemplateError is a ValueError: pydantic reports it on the field
    return value


Message = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_template)]


class VariantIn(Body):
    name: Line = Field(min_length=1, max_length=40)
    message: Message


class AbTestIn(Body):
    testPercent: int = Field(ge=1, le=90, description="the share of the audience the variants are tested on first")
    metric: Literal["conversion_rate", "delivery_rate"]
    decideAfterSeconds: int = Field(
        ge=1, le=30 * 86_400, description="the test runs this long after segmentation, then the winner goes to the rest"
    )


class CampaignIn(Body):
    userId: Line | None = Field(default=None, min_length=1, max_length=200)  # the session's user wins
    name: Line = Field(min_length=1, max_length=200)
    ruleGroup: dict[str, Any]
    message: Message | None = Field(default=None, description="required unless `variants` are given")
    attributionDays: int = Field(
        default=7, ge=1, le=90, description="an order within this many days of a message SENT converts its customer"
    )
    holdoutPercent: int = Field(
        default=0, ge=0, le=50, description="this share of the audience gets no message: the lift is measured on it"
    )
    variants: list[VariantIn] | None = Field(
        default=None, min_length=2, max_length=5, description="messages drawn per customer; the first is the control"
    )
    weights: list[float] | None = Field(
        default=None, min_length=2, max_length=5, description="the variants' shares (any scale), as many as variants"
    )
    abTest: AbTestIn | None = None
    sendAt: SendAt | None = Field(
        default=None,
        description="ISO 8601 with offset: the campaign is SCHEDULED and starts then (its audience as of that moment)",
    )
    ratePerSecond: float | None = Field(
        default=None, gt=0, le=1_000_000, description="at most this many messages a second (per worker)"
    )

    @field_validator("ruleGroup")
    @classmethod
    def _rules(cls, value: dict[str, Any]) -> dict[str, Any]:
        rules.parse(value)  # RuleError is a ValueError: pydantic reports it on this field
        return value

    @field_validator("weights")
    @classmethod
    def _weights(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and not all(0 < w <= 1_000_000 for w in value):
            raise ValueError("weights must be positive numbers")
        return value

    @model_validator(mode="after")
    def _variants(self) -> CampaignIn:
        names = [v.name for v in self.variants or []]
        if len(set(names)) < len(names):
            raise ValueError("variants must have different names")
        if self.weights is not None and len(self.weights) != len(names):
            raise ValueError("weights need one number per variant")
        if self.abTest is not None and not names:
            raise ValueError("abTest needs variants")
        if self.message is None:
            if not self.variants:
                raise ValueError("message is required (or variants)")
            self.message = self.variants[0].message
        return self

    def variant_list(self) -> list[dict[str, Any]] | None:
        """The variants as the campaign keeps them: `[{name, message, weight}]`."""
        if not self.variants:
            return None
        weights = self.weights or [1.0] * len(self.variants)
        return [
            {"name": v.name, "message": v.message, "weight": w} for v, w in zip(self.variants, weights, strict=True)
        ]


@with_config(ConfigDict(str_strip_whitespace=True))
class ReceiptIn(TypedDict):
    """A receipt, checked as it goes on (a campaign has as many as messages, so no model object is
    made of each, nor UUID objects of its ids); other fields, such as `customerId`, are dropped."""

    commId: UuidText
    campaignId: UuidText
    # UNSUBSCRIBED and BOUNCED also opt the recipient out. (A Literal of the statuses from their home,
    # which pydantic reads and mypy cannot.)
    status: Literal[receipt_folding.RECEIPT_STATUSES]  # type: ignore[valid-type]
    reason: NotRequired[Annotated[str | None, Field(max_length=500)]]


class RescheduleIn(Body):
    sendAt: SendAt


class TestSendIn(Body):
    to: list[Annotated[str, Field(min_length=1, max_length=254)]] = Field(
        min_length=1, max_length=10, description="customer ids or emails"
    )


class ResendIn(Body):
    statuses: list[Literal[states.RESENDABLE]] = Field(min_length=1, max_length=4)  # type: ignore[valid-type]
    name: Line | None = Field(default=None, min_length=1, max_length=200)
    message: Message | None = None


class SuppressionIn(Body):
    email: Email | None = None
    customerId: UUID | None = None
    reason: Line = Field(default="opted out", min_length=1, max_length=200)

    @model_validator(mode="after")
    def _one(self) -> SuppressionIn:
        if (self.email is None) == (self.customerId is None):
            raise ValueError("give an email or a customerId")
        return self


class ReplayIn(Body):
    """Dead letters to replay: one (`id`) or a topic's (`topic`, e.g. `orders`), oldest first."""

    id: int | None = Field(default=None, ge=1)
    topic: Line | None = Field(default=None, min_length=1, max_length=200)
    limit: int = Field(default=10_000, ge=1, le=10_000)

    @model_validator(mode="after")
    def _one(self) -> ReplayIn:
        if self.id is None and self.topic is None:
            raise ValueError("give an id or a topic (so that nothing is replayed by accident)")
        return self


DayTime = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class QuietHoursIn(Body):
    start: DayTime = Field(description="HH:MM local time: no message from then")
    end: DayTime = Field(description="HH:MM local time: messages held meanwhile go out then")
    timezone: TimeZone = Field(description="the journey's zone, for customers without one of their own")


class TriggerIn(Body):
    type: Literal["enters_segment", "order_placed"]
    ruleGroup: dict[str, Any] | None = Field(
        default=None, description="the segment (enters_segment: required); order_placed: the customer after the order"
    )

    @field_validator("ruleGroup")
    @classmethod
    def _rules(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            rules.parse(value)
        return value

    @model_validator(mode="after")
    def _segment(self) -> TriggerIn:
        if self.type == "enters_segment" and self.ruleGroup is None:
            raise ValueError("an enters_segment trigger needs its ruleGroup")
        return self


class JourneyIn(Body):
    userId: Line | None = Field(default=None, min_length=1, max_length=200)  # the session's user wins
    name: Line = Field(min_length=1, max_length=200)
    trigger: TriggerIn
    message: Message
    delaySeconds: int = Field(default=0, ge=0, le=90 * 86_400, description="the message goes out this long after entry")
    reentry: Literal["once", "every"] = Field(default="once", description="once ever, or again after the cooldown")
    cooldownDays: int = Field(default=30, ge=0, le=365, description="with reentry every: days between two entries")
    quietHours: QuietHoursIn | None = None
    includeExisting: bool = Field(default=False, description="the segment's present members enter when it starts")

    def row_values(self) -> dict[str, Any]:
        """The journey's columns after (id, user), in `sql.journeys.CREATE`'s order."""
        return {
            "trigger_type": self.trigger.type,
            "rule_group": self.trigger.ruleGroup or {},
            "message": self.message,
            "delay_seconds": self.delaySeconds,
            "reentry": self.reentry,
            "cooldown_days": self.cooldownDays,
            "quiet_hours": self.quietHours.model_dump() if self.quietHours else None,
            "include_existing": self.includeExisting,
        }
