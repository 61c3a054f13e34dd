"""What PostgreSQL cannot store, and what people paste into one-line fields, is refused by name."""

import orjson
import pytest

from minicrm.edge.errors import InvalidInput
from minicrm.edge.requests import parse_json, validate_items
from minicrm.edge.schemas import CampaignIn, CustomerIn, OrderIn


def problems(raw: bytes):
    with pytest.raises(InvalidInput) as caught:
        parse_json(raw)
    return caught.value.detail


def test_a_nul_anywhere_is_refused_naming_item_and_field():
    body = [{"name": "Fine", "email": "a@b.co"}, {"name": "Fine", "email": "c@d.co", "city": "Pu\u0000ne"}]
    assert problems(orjson.dumps(body)) == [
        {"item": 1, "field": "city", "message": "text holds a NUL character (\\u0000), which cannot be stored"}
    ]
    nested = {"ruleGroup": {"rules": [{"attribute": "city", "operator": "=", "value": "\u0000"}]}}
    assert problems(orjson.dumps(nested))[0]["field"] == "ruleGroup.rules.0.value"
    assert problems(orjson.dumps({"ke\u0000y": 1}))[0]["field"] == "ke\x00y"


def test_an_escaped_backslash_before_u0000_is_not_a_nul():
    assert parse_json(orjson.dumps({"name": "C:\\u0000"})) == {"name": "C:\\u0000"}


def refused(item: type, **fields) -> list[tuple[str, str]]:
    """(field, message) of each problem of the item as posted."""
    with pytest.raises(InvalidInput) as caught:
        validate_items(item, orjson.dumps(fields), max_items=1)
    return [(p["field"], p["message"]) for p in caught.value.detail]


ONE_LINE = "Value error, must be one line of text, without control characters"


@pytest.mark.parametrize("text", ["Ann\nLee", "Ann\tLee", "Ann\x1bLee", "Ann\x7fLee", "Ann\x85Lee"])
def test_one_line_fields_refuse_control_characters(text):
    assert refused(CustomerIn, name=text, email="a@b.co") == [("name", ONE_LINE)]
    assert refused(CustomerIn, name="Ann", email="a@b.co", city=text) == [("city", ONE_LINE)]
    assert refused(OrderIn, id=text, customerId="5f1d7e2a-8c2b-4f7e-9a51-6b0c3d2e1f00", amount=1, status="PENDING") == [
        ("id", ONE_LINE)
    ]


def test_messages_keep_their_lines_and_names_their_letters():
    assert CampaignIn(name="Diwali", ruleGroup={}, message="Hi {{name}},\n\tsee you").message.count("\n") == 1
    [customer] = validate_items(CustomerIn, orjson.dumps({"name": "Zoë Ångström-Łukasz 李", "email": "z@b.co"}), 1)
    assert customer["name"] == "Zoë Ångström-Łukasz 李"
