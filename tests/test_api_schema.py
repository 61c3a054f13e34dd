"""The served OpenAPI description, checked by schemathesis against the running edge, and a fuzz
test of the rule-tree endpoints: no 5xx, and no response that breaks the description."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def api_schema(pipeline, user):
    return schemathesis.openapi.from_url(f"{pipeline.url}/openapi.json")


def test_the_api_keeps_its_description(api_schema, pipeline, user):
    # Driven by hand: schemathesis's pytest plugin does not run under pytest 9.
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 26
    for operation in operations:

        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def check(case):
            response = case.call(base_url=pipeline.url, headers={"Authorization": f"Bearer {user[1]}"}, timeout=30)
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance, content_type_conformance]
            )

        check()


def test_docs_page_lists_every_path(pipeline, api_schema):
    import urllib.request

    page = urllib.request.urlopen(f"{pipeline.url}/docs").read().decode()
    for path in api_schema.raw_schema["paths"]:
        assert path in page


nasty_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "'; DROP TABLE customers; --",
            "1 OR 1=1",
            "$1",
            "\x00",
            "😀" * 10,
            "NaN",
            "Infinity",
            "-0",
            "1e999",
            "9" * 400,
            "   ",
            "Mumbai' --",
        ]
    ),
)
nasty_value = st.one_of(
    nasty_text,
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
)
rule = st.fixed_dictionaries(
    {
        "attribute": st.one_of(st.sampled_from(["total_spend", "visit", "city", "last_order_date", ""]), nasty_text),
        "operator": st.one_of(st.sampled_from([">", "<", "=", ">=", "<=", "!=", ""]), nasty_text),
        "value": nasty_value,
    }
)
tree = st.recursive(
    rule,
    lambda kids: st.fixed_dictionaries(
        {
            "combinator": st.one_of(st.sampled_from(["AND", "OR", "or"]), nasty_text),
            "rules": st.lists(kids, max_size=4),
        }
    ),
    max_leaves=30,
)
deep = st.integers(1, 40).map(
    lambda n: __import__("functools").reduce(
        lambda inner, _: {"combinator": "AND", "rules": [inner]},
        range(n),
        {"attribute": "visit", "operator": ">", "value": "1"},
    )
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.one_of(tree, deep, nasty_value))
def test_rule_tree_fuzz_never_gives_5xx(pipeline, user, body):
    async def post_both():
        async with aiohttp.ClientSession(base_url=pipeline.url, headers={"Authorization": f"Bearer {user[1]}"}) as s:
            statuses = []
            for path, payload in (("/api/customers/get", body), ("/api/campaigns/get", {"ruleGroup": body})):
                async with s.post(path, json=payload) as r:
                    statuses.append(r.status)
                    if r.status >= 400:
                        assert set(await r.json()) == {"error", "detail"}
            return statuses

    statuses = asyncio.run(post_both())
    assert all(s in (200, 400) for s in statuses), statuses
