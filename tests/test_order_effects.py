from datetime import UTC, datetime
from decimal import Decimal

from minicrm.order_effects import OrderState, fold

T1 = datetime(2026, 1, 1, tzinfo=UTC)
T2 = datetime(2026, 2, 1, tzinfo=UTC)


def state(status, amount="100.00", when=T1, customer="c1"):
    return OrderState(customer, status, Decimal(amount), when)


def test_new_orders_by_status():
    deltas = fold([(None, state("COMPLETED")), (None, state("CANCELLED", when=T2)), (None, state("PENDING"))])
    d = deltas["c1"]
    assert (d.spend, d.visits, d.last_order_date) == (Decimal("100.00"), 2, T1)


def test_a_refund_takes_the_spend_back_and_keeps_the_visit():
    d = fold([(state("COMPLETED"), state("REFUNDED"))])["c1"]
    assert (d.spend, d.visits) == (Decimal("-100.00"), 0)


def test_a_repeated_record_changes_nothing():
    assert fold([(state("COMPLETED"), state("COMPLETED"))]) == {}
    assert fold([(state("PENDING"), state("PENDING"))]) == {}


def test_pending_to_completed_adds_spend_visit_and_date():
    d = fold([(state("PENDING"), state("COMPLETED", "50.50", T2))])["c1"]
    assert (d.spend, d.visits, d.last_order_date) == (Decimal("50.50"), 1, T2)


def test_deltas_are_per_customer():
    deltas = fold([(None, state("COMPLETED", customer="a")), (None, state("COMPLETED", "1", customer="b"))])
    assert {k: v.spend for k, v in deltas.items()} == {"a": Decimal("100.00"), "b": Decimal("1")}
