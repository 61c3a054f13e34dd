"""The rule index skips only trees that cannot match: every tree a customer matches is among the
candidates it gives, for random trees and customers (pure: no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from minicrm import rules, verdicts
from minicrm.rule_index import RuleIndex

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
CITIES = ["Pune", "pune", "İzmir", "izmir", "ΣΟΦΙΑ", "", "Delhi"]

city_rule = st.builds(
    lambda op, v: {"attribute": "city", "operator": op, "value": v},
    st.sampled_from(["=", "!="]),
    st.sampled_from(CITIES),
)
number_rule = st.builds(
    lambda a, op, v: {"attribute": a, "operator": op, "value": v},
    st.sampled_from(["visit", "total_spend"]),
    st.sampled_from(["=", "!=", ">", "<=", ">="]),
    st.sampled_from(["0", "1", "2", "2.5", "100"]),
)
window_rule = st.builds(
    lambda op, v, d: {"attribute": "orders_within", "days": d, "operator": op, "value": v},
    st.sampled_from(["=", ">="]),
    st.sampled_from(["0", "1", "2"]),
    st.integers(1, 40),
)
leaf = st.one_of(city_rule, number_rule, window_rule)
trees = st.recursive(
    leaf,
    lambda children: st.builds(
        lambda c, rs: {"combinator": c, "rules": rs}, st.sampled_from(["AND", "OR"]), st.lists(children, max_size=4)
    ),
    max_leaves=8,
)
facts = st.builds(
    lambda spend, visit, city, days: verdicts.Facts(
        Decimal(spend), visit, city, None, {NOW.date() - timedelta(days=d): (1, Decimal(10)) for d in days}
    ),
    st.sampled_from(["0", "1", "2.50", "100"]),
    st.integers(0, 3),
    st.one_of(st.none(), st.sampled_from(CITIES)),
    st.lists(st.integers(0, 45), max_size=4),
)


def group(tree: dict) -> rules.Group:
    return rules.parse(tree if "rules" in tree else {"rules": [tree]})


@settings(max_examples=400, deadline=None)
@given(st.lists(trees, min_size=1, max_size=8), facts)
def test_every_matching_tree_is_a_candidate(tree_list, customer):
    groups = [group(t) for t in tree_list]
    index = RuleIndex(enumerate(groups))
    candidates = {i for i, _ in index.candidates(customer)}
    for i, g in enumerate(groups):
        if verdicts.evaluate(g, customer, NOW):
            assert i in candidates, (tree_list[i], customer)


def test_trees_pinned_to_another_city_or_visit_are_skipped():
    pune = group(
        {
            "rules": [
                {"attribute": "city", "operator": "=", "value": "PUNE"},
                {"attribute": "visit", "operator": ">", "value": "1"},
            ]
        }
    )
    three = group({"rules": [{"attribute": "visit", "operator": "=", "value": "3"}]})
    anyone = group({"combinator": "OR", "rules": [{"attribute": "city", "operator": "=", "value": "Pune"}]})
    index = RuleIndex([("pune", pune), ("three", three), ("anyone", anyone)])
    customer = verdicts.Facts(Decimal(0), 3, "Delhi", None, {})
    assert {k for k, _ in index.candidates(customer)} == {"three", "anyone"}
    assert {k for k, _ in index.candidates(verdicts.Facts(Decimal(0), 1, "pune", None, {}))} == {"pune", "anyone"}
