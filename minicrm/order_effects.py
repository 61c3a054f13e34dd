"""What an order's status does to its customer's spend, visits and last order date.

Effects are a function of the status, so a re-posted order changes the customer by
the difference between its new and old effect, and a repeated record by nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal, get_args

OrderStatus = Literal["PENDING", "COMPLETED", "CANCELLED", "REFUNDED"]
ORDER_STATUSES: tuple[str, ...] = get_args(OrderStatus)
PENDING, COMPLETED, CANCELLED, REFUNDED = ORDER_STATUSES
ZERO = Decimal("0")


@dataclass(frozen=True)
class OrderState:
    customer_id: str
    status: str
    amount: Decimal
    order_date: datetime


@dataclass
class CustomerDelta:
    spend: Decimal = ZERO
    visits: int = 0
    last_order_date: datetime | None = None


def effect(status: str, amount: Decimal) -> tuple[Decimal, int]:
    """(spend, visits) an order in this status contributes to its customer."""
    if status == COMPLETED:
        return amount, 1
    if status in (REFUNDED, CANCELLED):
        return ZERO, 1
    return ZERO, 0


def fold(changes: Iterable[tuple[OrderState | None, OrderState]]) -> dict[str, CustomerDelta]:
    """Per-customer deltas for a batch of (old state or None, new state) pairs."""
    deltas: dict[str, CustomerDelta] = {}
    for old, new in changes:
        if old == new:
            continue
        delta = deltas.setdefault(new.customer_id, CustomerDelta())
        new_spend, new_visits = effect(new.status, new.amount)
        old_spend, old_visits = effect(old.status, old.amount) if old else (ZERO, 0)
        delta.spend += new_spend - old_spend
        delta.visits += new_visits - old_visits
        if new.status == COMPLETED and (delta.last_order_date is None or new.order_date > delta.last_order_date):
            delta.last_order_date = new.order_date
    return {cid: d for cid, d in deltas.items() if d.spend or d.visits or d.last_order_date}
