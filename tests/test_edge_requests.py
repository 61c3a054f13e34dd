"""Validation of request arrays: every item checked, each problem named by item and field."""

from __future__ import annotations

import orjson
import pytest

from minicrm.edge.errors import InvalidInput, PayloadTooLarge
from minicrm.edge.requests import validate_items
from minicrm.edge.schemas import CustomerIn, OrderIn, ReceiptIn

ORDER = {
    "id": "o1",
    "customerId": "5f1d7e2a-8c2b-4f7e-9a51-6b0c3d2e1f00",
    "amount": 20,
    "status": "COMPLETED",
    "items": [{"name": "x", "quantity": 2, "unitPrice": 10, "total": 20}],
}


def test_every_bad_item_of_an_array_is_named_with_its_field():
    body = [
        ORDER,
        42,
        {**ORDER, "amount": 25},
        {**ORDER, "customerId": "nope"},
        {**ORDER, "items": [ORDER["items"][0], {"name": "y", "quantity": 0, "unitPrice": 1, "total": 0}]},
    ]
    with pytest.raises(InvalidInput) as raised:
        validate_items(OrderIn, orjson.dumps(body), max_items=10)
    problems = raised.value.detail
    assert [(p["item"], p["field"]) for p in problems] == [
        (1, "(item)"),
        (2, "(body)"),
        (3, "customerId"),
        (4, "items.1.quantity"),
    ]
    assert problems[0]["message"] == "expected a JSON object"
    assert "does not match the items' total" in problems[1]["message"]


def test_valid_items_come_back_as_models_in_their_order():
    orders = validate_items(OrderIn, orjson.dumps([{**ORDER, "id": f"o{i}"} for i in range(3)]), max_items=10)
    assert [o.id for o in orders] == ["o0", "o1", "o2"]
    assert [o.id for o in validate_items(OrderIn, orjson.dumps(ORDER), max_items=1)] == ["o1"]  # an array of one


def test_one_bad_object_is_named_as_item_0():
    with pytest.raises(InvalidInput) as raised:
        validate_items(OrderIn, orjson.dumps({**ORDER, "customerId": "nope"}), max_items=1)
    assert [(p["item"], p["field"]) for p in raised.value.detail] == [(0, "customerId")]
    with pytest.raises(InvalidInput) as raised:
        validate_items(OrderIn, b" 42", max_items=1)
    assert raised.value.detail == [{"item": 0, "field": "(item)", "message": "expected a JSON object"}]


def test_customers_come_back_as_they_go_on_with_their_problems_worded():
    raw = orjson.dumps(
        [
            {"name": " Ann Lee ", "email": " Ann@Example.COM", "phone": 9876543210, "city": "", "owner": "x"},
            {"name": "Bo", "email": "bo@example.com", "phone": ""},
        ]
    )
    assert validate_items(CustomerIn, raw, max_items=10) == [
        {"name": "Ann Lee", "email": "ann@example.com", "phone": "9876543210", "city": ""},
        {"name": "Bo", "email": "bo@example.com", "phone": ""},
    ]
    bad = orjson.dumps(
        [
            {"name": "A", "email": "a@b.co"},
            {"name": "Ann\tLee", "email": "nope"},
            {"name": "Ann", "email": "a@b.co", "phone": "12345", "visit": -1},
        ]
    )
    with pytest.raises(InvalidInput) as raised:
        validate_items(CustomerIn, bad, max_items=10)
    assert [(p["item"], p["field"], p["message"]) for p in raised.value.detail] == [
        (0, "name", "String should have at least 2 characters"),
        (1, "name", "Value error, must be one line of text, without control characters"),
        (1, "email", "Value error, not a valid email address"),
        (2, "phone", "Value error, phone must be exactly 10 digits"),
        (2, "visit", "Input should be greater than or equal to 0"),
    ]


RECEIPT = {
    "commId": "5f1d7e2a-8c2b-4f7e-9a51-6b0c3d2e1f01",
    "campaignId": "5F1D7E2A-8C2B-4F7E-9A51-6B0C3D2E1F02",
    "customerId": "5f1d7e2a-8c2b-4f7e-9a51-6b0c3d2e1f03",
    "status": "SENT",
}


def test_receipts_are_checked_from_the_bytes_and_come_back_as_they_go_on():
    raw = orjson.dumps([RECEIPT, {**RECEIPT, "status": "BOUNCED", "reason": "  no such mailbox "}])
    assert validate_items(ReceiptIn, raw, max_items=10, one=False) == [
        {k: v for k, v in RECEIPT.items() if k != "customerId"},
        {
            "commId": RECEIPT["commId"],
            "campaignId": RECEIPT["campaignId"],
            "status": "BOUNCED",
            "reason": "no such mailbox",
        },
    ]


def test_every_bad_receipt_is_named_with_its_field():
    raw = orjson.dumps(
        [
            RECEIPT,
            "x",
            {**RECEIPT, "commId": "nope"},
            {**RECEIPT, "status": "READ"},
            {k: v for k, v in RECEIPT.items() if k != "campaignId"},
            {**RECEIPT, "reason": "r" * 501},
        ]
    )
    with pytest.raises(InvalidInput) as raised:
        validate_items(ReceiptIn, raw, max_items=10, one=False)
    assert [(p["item"], p["field"]) for p in raised.value.detail] == [
        (1, "(item)"),
        (2, "commId"),
        (3, "status"),
        (4, "campaignId"),
        (5, "reason"),
    ]
    assert raised.value.detail[1]["message"] == "Input should be a valid UUID"


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"", "request body is empty; expected JSON"),
        (b"[{", "malformed JSON"),
        (orjson.dumps(RECEIPT), "expected a JSON array"),
        (b"[]", "expected an object or a non-empty array of objects"),
    ],
)
def test_a_receipts_body_that_is_no_array_of_them_is_refused_as_a_whole(raw, message):
    with pytest.raises(InvalidInput) as raised:
        validate_items(ReceiptIn, raw, max_items=10, one=False)
    assert str(raised.value.detail).startswith(message)


def test_a_nul_in_a_receipt_is_refused_with_its_place_and_too_many_as_too_large():
    with pytest.raises(InvalidInput) as raised:
        validate_items(ReceiptIn, orjson.dumps([RECEIPT, {**RECEIPT, "reason": "a\x00b"}]), max_items=10, one=False)
    assert [(p["item"], p["field"]) for p in raised.value.detail] == [(1, "reason")]
    with pytest.raises(PayloadTooLarge):
        validate_items(ReceiptIn, orjson.dumps([RECEIPT] * 3), max_items=2, one=False)


@pytest.mark.parametrize("email", ["\x1fa@example.com", "a@exa\x1cmple.com", "a\x85b@example.com", "a b@example.com"])
def test_an_email_is_one_line_of_text(email):
    with pytest.raises(InvalidInput) as raised:
        validate_items(CustomerIn, orjson.dumps({"name": "Ann", "email": email}), max_items=1)
    assert raised.value.detail == [{"item": 0, "field": "email", "message": "Value error, not a valid email address"}]


@pytest.mark.parametrize(
    "email", [" Mixed@Example.COM ", "ΟΔΥΣΣΕΥΣ@example.com", "İstanbul@example.com", "ǅ@example.com"]
)
def test_an_email_is_lower_cased_as_python_does_it(email):
    """Clients derive a customer's id from `email.strip().lower()` (uuid5): so must the edge."""
    [customer] = validate_items(CustomerIn, orjson.dumps({"name": "Ann", "email": email}), max_items=1)
    assert customer["email"] == email.strip().lower()
