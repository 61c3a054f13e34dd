"""The OpenAPI document, built without a server: every route in it, and its schemas agreeing with
the validation they are read off (rules.parse, the models), value by value."""

from __future__ import annotations

import jsonschema_rs
import pytest
from aiohttp import web

from minicrm import rules
from minicrm.edge import openapi
from minicrm.edge.openapi_paths import OPERATIONS
from minicrm.edge.requests import validate_items
from minicrm.edge.routes import role_of, setup_routes
from minicrm.edge.schemas import CustomerIn
from minicrm.settings import Settings

DOCUMENT = openapi.spec(Settings())


def validator(name: str) -> jsonschema_rs.Validator:
    schema = {"$ref": f"#/components/schemas/{name}", "components": DOCUMENT["components"]}
    return jsonschema_rs.validator_for(schema)


def test_every_route_is_an_operation_with_its_path_parameters():
    app = web.Application()
    setup_routes(app)
    routes = {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.method not in ("*", "HEAD")
        and route.resource is not None
        and not route.resource.canonical.startswith(openapi.CONSOLE)  # pages, not operations
    }
    described = {(method, path) for path, methods in DOCUMENT["paths"].items() for method in methods}
    assert described == routes
    for path, methods in DOCUMENT["paths"].items():
        for op in methods.values():
            named = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert named == set(openapi.PARAMETER.findall(path)), path
            assert op["x-minicrm-role"] == role_of(op_method(methods, op), path), path


def op_method(methods: dict, op: dict) -> str:
    return next(method for method, other in methods.items() if other is op).upper()


def test_a_route_without_an_operation_stops_the_document():
    async def undescribed(request: web.Request) -> web.Response:
        raise AssertionError

    app = web.Application()
    app.router.add_get("/api/new", undescribed)
    with pytest.raises(openapi.Undescribed, match="GET /api/new"):
        openapi._routes(app.router)


def test_operation_ids_are_unique_and_links_name_real_operations():
    ops = [op for methods in DOCUMENT["paths"].values() for op in methods.values()]
    ids = [op["operationId"] for op in ops]
    assert len(ids) == len(set(ids)) == len(OPERATIONS) + len(openapi.DOCUMENT)
    linked = {
        link["operationId"]
        for op in ops
        for answer in op["responses"].values()
        for link in answer.get("links", {}).values()
    }
    assert linked <= set(ids)
    created = DOCUMENT["paths"]["/api/campaigns"]["post"]["responses"]["201"]["links"]
    assert {"pauseCampaign", "resumeCampaign", "cancelCampaign", "getCampaigns", "listLogs"} <= set(created)
    journey = DOCUMENT["paths"]["/api/journeys"]["post"]["responses"]["201"]["links"]
    assert {"getJourney", "pauseJourney", "resumeJourney", "deleteJourney", "listLogs"} <= set(journey)


def test_every_signed_in_operation_answers_401_and_every_body_400():
    for path, methods in DOCUMENT["paths"].items():
        for op in methods.values():
            assert "503" in op["responses"], path
            if op.get("security") != []:
                assert "401" in op["responses"], path
            if "requestBody" in op:
                assert {"400", "413"} <= set(op["responses"]), path


@pytest.mark.parametrize("attribute", sorted(rules.ATTRIBUTES))
def test_the_rule_schema_names_every_attribute_rules_knows(attribute):
    # the operators rules.py allows for it, with a value it takes (and days for a window)
    operators = rules.STRING_OPERATORS if attribute in rules.STRING_ATTRIBUTES else rules.NUMBER_OPERATORS
    for operator in operators:
        rule = {"attribute": attribute, "operator": operator, "value": "5"}
        if attribute in rules.WINDOW_ATTRIBUTES:
            rule["days"] = 30
        assert validator("RuleGroup").is_valid(rule)
        rules.parse(rule)


RULES = [
    {},
    {"attribute": "", "operator": ""},
    {"attribute": "visit", "operator": ">", "value": " 3 "},
    {"attribute": "visit", "operator": ">", "value": "1e400"},
    {"attribute": "visit", "operator": ">", "value": True},
    {"attribute": "visit", "operator": "~", "value": "3"},
    {"attribute": "city", "operator": ">", "value": "Pune"},
    {"attribute": "city", "operator": "=", "value": "x" * 201},
    {"attribute": "city", "operator": "=", "value": 12},
    {"attribute": "city", "operator": "=", "value": "Pune", "days": 3},
    {"attribute": "last_order_date", "operator": "<", "value": "36500"},
    {"attribute": "last_order_date", "operator": "<", "value": "36501"},
    {"attribute": "last_order_date", "operator": "<", "value": 2.5},
    {"attribute": "orders_within", "operator": ">=", "value": "2", "days": " 365 "},
    {"attribute": "spend_within", "operator": ">", "value": "2", "days": "\u2029\u2009\u2004364\r\x1d "},
    {"attribute": "orders_within", "operator": ">=", "value": "2", "days": 366},
    {"attribute": "orders_within", "operator": ">=", "value": "2", "days": 0},
    {"attribute": "spend_within", "operator": ">=", "value": "2"},
    {"combinator": "or", "rules": [{"attribute": "visit", "operator": "=", "value": 1}]},
    {"combinator": "XOR", "rules": []},
    {"rules": "none"},
    {"combinator": "AND", "rules": [{"rules": [{"rules": [{"rules": [{"rules": [{"rules": []}]}]}]}]}]},
    {"combinator": "AND", "rules": [{"rules": [{"rules": [{"rules": [{"rules": [{"rules": [{}]}]}]}]}]}]},
]


@pytest.mark.parametrize("tree", RULES)
def test_the_rule_schema_accepts_what_rules_parse_accepts(tree):
    try:
        rules.parse(tree)
        parsed = True
    except rules.RuleError:
        parsed = False
    assert validator("RuleGroup").is_valid(tree) == parsed


CUSTOMERS = [
    {"name": " Ann ", "email": "ann@example.com"},
    {"name": "Ann", "email": "ann@example.com", "phone": 9876543210, "visit": "3", "city": None},
    {"name": "Ann", "email": "ann@example.com", "phone": "98765", "city": "Pune"},
    {"name": "Ann", "email": "ann@example.com", "visit": 1.5},
    {"name": 12345, "email": "ann@example.com"},
    {"name": "Ann", "email": "ann@example.com", "city": 7.5},
    {"name": "Ann", "email": "ann@example.com", "timezone": "Asia/Kolkata"},
    {"name": "Ann", "email": "ann@example.com", "timezone": "Mars/Olympus"},
    {"name": "A", "email": "ann@example.com"},
    {"name": "Ann", "email": "ann@example", "owner": "x"},
]


@pytest.mark.parametrize("customer", CUSTOMERS)
def test_the_customer_schema_accepts_what_the_edge_accepts(customer):
    import orjson

    try:
        validate_items(CustomerIn, orjson.dumps(customer), 10)
        accepted = True
    except Exception:  # noqa: BLE001 - InvalidInput: refused
        accepted = False
    assert validator("CustomerIn").is_valid(customer) == accepted
