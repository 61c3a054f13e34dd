"""Validation of request arrays: every item checked, each problem named by item and field."""

from __future__ import annotations

import pytest

from minicrm.edge.errors import InvalidInput
from minicrm.edge.requests import validate_many
from minicrm.edge.schemas import OrderIn

ORDER = {"id": "o1", "customerId": "5f1d7e2a-8c2b-4f7e-9a51-6b0c3d2e1f00", "amount": 20, "status": "COMPLETED",
         "items": [{"name": "x", "quantity": 2, "unitPrice": 10, "total": 20}]}


def test_every_bad_item_of_an_array_is_named_with_its_field():
    body = [ORDER, 42, {**ORDER, "amount": 25}, {**ORDER, "customerId": "nope"},
            {**ORDER, "items": [ORDER["items"][0], {"name": "y", "quantity": 0, "unitPrice": 1, "total": 0}]}]
    with pytest.raises(InvalidInput) as raised:
        validate_many(OrderIn, body, max_items=10)
    problems = raised.value.detail
    assert [(p["item"], p["field"]) for p in problems] == [
        (1, "(item)"), (2, "(body)"), (3, "customerId"), (4, "items.1.quantity")]
    assert problems[0]["message"] == "expected a JSON object"
    assert "does not match the items' total" in problems[1]["message"]


def test_valid_items_come_back_as_models_in_their_order():
    orders = validate_many(OrderIn, [{**ORDER, "id": f"o{i}"} for i in range(3)], max_items=10)
    assert [o.id for o in orders] == ["o0", "o1", "o2"]
    assert [o.id for o in validate_many(OrderIn, ORDER, max_items=1)] == ["o1"]  # one object is an array of one
