"""The rule compiler: its validation, and its SQL checked against a plain Python evaluator on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minicrm import rules
from support.deployment import ADMIN_DSN

INJECTIONS = ["'; DROP TABLE customers; --", "Pune' OR '1'='1", "$1", "\\", "ci'ty", "%", "_"]
CITIES = ["Pune", "pune", "Delhi", "Goa", "Navi Mumbai", *INJECTIONS]


def evaluate(node: rules.Group | rules.Rule, customer: dict, today: datetime) -> bool:
    """What a ruleGroup means, in plain Python (DESIGN §3)."""
    if isinstance(node, rules.Group):
        results = [evaluate(r, customer, today) for r in node.rules]
        if not results:
            return True
        return all(results) if node.combinator == "AND" else any(results)
    ops = {
        ">": lambda a, b: a > b,
        "<": lambda a, b: a < b,
        "=": lambda a, b: a == b,
        ">=": lambda a, b: a >= b,
        "<=": lambda a, b: a <= b,
        "!=": lambda a, b: a != b,
    }
    value = customer[node.attribute]
    if value is None:
        return False
    if node.attribute == "city":
        return ops[node.operator](value.lower(), node.value.lower())
    if node.attribute == "last_order_date":
        return ops[node.operator](value, today - timedelta(days=int(node.value)))
    return ops[node.operator](Decimal(value), node.value)


# ---- validation -------------------------------------------------------------------------


def test_empty_group_and_blank_rows_match_everyone():
    assert rules.compile_tree({}) == ("TRUE", [])
    assert rules.compile_tree(None) == ("TRUE", [])
    blank = {"combinator": "AND", "rules": [{"id": "r1", "attribute": "", "operator": "", "value": ""}]}
    assert rules.compile_tree(blank) == ("TRUE", [])


def test_values_are_bind_parameters():
    tree = {
        "combinator": "OR",
        "rules": [
            {"attribute": "total_spend", "operator": ">", "value": "5000"},
            {"combinator": "AND", "rules": [{"attribute": "city", "operator": "!=", "value": INJECTIONS[0]}]},
        ],
    }
    sql, params = rules.compile_tree(tree, first_param=3)
    assert params == [Decimal(5000), INJECTIONS[0]]
    assert "DROP" not in sql and "$3" in sql and "$4" in sql
    assert " OR " in sql


@pytest.mark.parametrize(
    "tree, where, words",
    [
        (
            {"rules": [{"id": "r9", "attribute": "age", "operator": ">", "value": "1"}]},
            "rules[0] (id 'r9')",
            "unknown attribute",
        ),
        (
            {"rules": [{"attribute": "city", "operator": ">", "value": "Pune"}]},
            "rules[0]",
            "operator '>' is not allowed",
        ),
        ({"rules": [{"attribute": "visit", "operator": "LIKE", "value": "1"}]}, "rules[0]", "operator 'LIKE'"),
        ({"combinator": "XOR", "rules": []}, "ruleGroup", "unknown combinator"),
        ({"rules": [{"attribute": "total_spend", "operator": ">", "value": "lots"}]}, "rules[0]", "must be a number"),
        ({"rules": [{"attribute": "total_spend", "operator": ">", "value": "NaN"}]}, "rules[0]", "finite number"),
        ({"rules": [{"attribute": "total_spend", "operator": ">", "value": "1e400"}]}, "rules[0]", "finite number"),
        (
            {"rules": [{"attribute": "last_order_date", "operator": "<", "value": "1.5"}]},
            "rules[0]",
            "whole number of days",
        ),
        ({"rules": [{"attribute": "visit", "operator": ">", "value": True}]}, "rules[0]", "must be a number"),
        ({"rules": "all"}, "ruleGroup", "rules must be an array"),
        (
            {"rules": [{"id": "w1", "attribute": "orders_within", "operator": ">=", "value": "3"}]},
            "rules[0] (id 'w1')",
            "days for orders_within must be a whole number from 1 to 365, got None",
        ),
        *(
            (
                {"rules": [{"attribute": "spend_within", "days": days, "operator": ">", "value": "5000"}]},
                "rules[0]",
                f"days for spend_within must be a whole number from 1 to 365, got {days!r}",
            )
            for days in (0, 366, -7, 7.5, "7.5", "seven", True, [7])
        ),
        (
            {"rules": [{"attribute": "total_spend", "days": 30, "operator": ">", "value": "1"}]},
            "rules[0]",
            "days applies only to orders_within and spend_within, not total_spend",
        ),
        (
            {"rules": [{"attribute": "orders_within", "days": 30, "operator": "LIKE", "value": "1"}]},
            "rules[0]",
            "operator 'LIKE' is not allowed for orders_within",
        ),
        (
            {"rules": [{"attribute": "spend_within", "days": 30, "operator": ">", "value": "lots"}]},
            "rules[0]",
            "value for spend_within must be a number",
        ),
        ({"rules": [42]}, "ruleGroup.rules[0]", "must be an object"),
        ({"attribute": "total_spend; DROP TABLE x", "operator": ">", "value": "1"}, "ruleGroup", "unknown attribute"),
    ],
)
def test_bad_trees_name_the_offending_rule(tree, where, words):
    with pytest.raises(rules.RuleError) as info:
        rules.compile_tree(tree)
    assert where in info.value.path and words in info.value.message


def test_window_rules_take_days_as_a_json_integer_or_its_digits():
    orders = {"attribute": "orders_within", "days": 30, "operator": ">=", "value": "2.5"}
    spend = {"attribute": "spend_within", "days": " 7 ", "operator": ">", "value": "5000"}
    group = rules.parse({"combinator": "AND", "rules": [orders, spend]})
    assert group.rules == (
        rules.Rule("orders_within", ">=", Decimal("2.5"), 30),
        rules.Rule("spend_within", ">", Decimal(5000), 7),
    )
    sql, params = rules.compile_sql(group)
    assert params == [30, 3, 7, Decimal(5000)]  # orders_within >= 2.5 counts as >= 3
    assert sql.count("FROM orders o WHERE o.customer_id = c.id AND o.status = 'COMPLETED'") == 2


def test_limits_on_depth_and_size():
    deep: dict = {"combinator": "AND", "rules": []}
    node = deep
    for _ in range(rules.MAX_DEPTH + 1):
        child = {"combinator": "AND", "rules": []}
        node["rules"].append(child)
        node = child
    with pytest.raises(rules.RuleError, match="deeper"):
        rules.parse(deep)
    wide = {"rules": [{"attribute": "visit", "operator": ">", "value": "1"}] * (rules.MAX_RULES + 1)}
    with pytest.raises(rules.RuleError, match="more than"):
        rules.parse(wide)


# ---- the compiled SQL means what the evaluator means ---------------------------------------

numbers = st.decimals(min_value=-10, max_value=20000, places=2, allow_nan=False, allow_infinity=False)
rule_strategy = st.one_of(
    st.builds(
        lambda a, o, v: {"attribute": a, "operator": o, "value": str(v)},
        st.sampled_from(["total_spend", "visit"]),
        st.sampled_from(list(rules.NUMBER_OPERATORS)),
        numbers,
    ),
    st.builds(
        lambda o, v: {"attribute": "city", "operator": o, "value": v},
        st.sampled_from(["=", "!="]),
        st.sampled_from(CITIES),
    ),
    st.builds(
        lambda o, v: {"attribute": "last_order_date", "operator": o, "value": str(v)},
        st.sampled_from(list(rules.NUMBER_OPERATORS)),
        st.integers(0, 60),
    ),
    st.just({"attribute": "", "operator": "", "value": ""}),
)
tree_strategy = st.recursive(
    rule_strategy,
    lambda children: st.builds(
        lambda c, r: {"combinator": c, "rules": r},
        st.sampled_from(["AND", "OR", "and"]),
        st.lists(children, max_size=4),
    ),
    max_leaves=12,
).map(lambda t: t if "rules" in t else {"combinator": "AND", "rules": [t]})


def customer_strategy(today: datetime):
    return st.fixed_dictionaries(
        {
            "total_spend": numbers,
            "visit": st.integers(0, 30),
            "city": st.one_of(st.none(), st.sampled_from(CITIES)),
            # whole days around the thresholds, so that =, < and > all meet equal timestamps
            "last_order_date": st.one_of(
                st.none(),
                st.integers(-1, 61).map(lambda d: today - timedelta(days=d)),
                st.integers(0, 60 * 48).map(lambda h: today - timedelta(hours=h)),
            ),
        }
    )


@pytest.fixture(scope="module")
def scratch(stack):
    """A connection with a temporary `customers` table of just the rule attributes."""
    loop = asyncio.new_event_loop()
    conn = loop.run_until_complete(asyncpg.connect(ADMIN_DSN, server_settings={"timezone": "UTC"}))
    loop.run_until_complete(
        conn.execute(
            "CREATE TEMP TABLE customers"
            " (id int, total_spend numeric(14,2), visit int, city text, last_order_date timestamptz)"
        )
    )
    yield loop, conn
    loop.run_until_complete(conn.close())
    loop.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_compiled_sql_selects_what_the_evaluator_selects(scratch, data):
    loop, conn = scratch
    today = loop.run_until_complete(conn.fetchval("SELECT date_trunc('day', now())"))
    tree = data.draw(tree_strategy)
    customers = data.draw(st.lists(customer_strategy(today), max_size=25))
    condition, params = rules.compile_tree(tree)

    async def run():
        async with conn.transaction():
            await conn.execute("TRUNCATE customers")
            await conn.executemany(
                "INSERT INTO customers VALUES ($1, $2, $3, $4, $5)",
                [(i, c["total_spend"], c["visit"], c["city"], c["last_order_date"]) for i, c in enumerate(customers)],
            )
            return {r["id"] for r in await conn.fetch(f"SELECT id FROM customers c WHERE {condition}", *params)}

    selected = loop.run_until_complete(run())
    group = rules.parse(tree)
    expected = {i for i, c in enumerate(customers) if evaluate(group, c, today)}
    assert selected == expected


@settings(max_examples=100, deadline=None)
@given(attribute=st.text(max_size=40), operator=st.text(max_size=5), value=st.text(max_size=60))
def test_arbitrary_strings_are_data_or_a_rule_error(attribute, operator, value):
    tree = {"combinator": "AND", "rules": [{"attribute": attribute, "operator": operator, "value": value}]}
    try:
        sql, params = rules.compile_tree(tree)
    except rules.RuleError:
        return
    # The value never shapes the SQL: any other value gives the same text.
    other = {"combinator": "AND", "rules": [{"attribute": attribute, "operator": operator, "value": "1"}]}
    assert rules.compile_tree(other)[0] == sql
    assert (sql, params) == ("TRUE", []) or (attribute in rules.ATTRIBUTES and len(params) == 1)


def test_a_visit_rule_can_use_the_visit_index(scratch):
    loop, conn = scratch
    condition, params = rules.compile_tree({"rules": [{"attribute": "visit", "operator": ">=", "value": "29.5"}]})

    async def plan():
        async with conn.transaction():
            await conn.execute("CREATE TEMP TABLE visits (id int, visit int)")
            await conn.execute("INSERT INTO visits SELECT i, i % 31 FROM generate_series(1, 20000) i")
            await conn.execute("CREATE INDEX ON visits (visit)")
            await conn.execute("ANALYZE visits")
            lines = await conn.fetch(f"EXPLAIN SELECT count(*) FROM visits c WHERE {condition}", *params)
            count = await conn.fetchval(f"SELECT count(*) FROM visits c WHERE {condition}", *params)
            await conn.execute("DROP TABLE visits")
            return " ".join(r[0] for r in lines), count

    text, count = loop.run_until_complete(plan())
    assert "Index" in text and "visit >= " in text, text
    assert count == 20000 // 31  # visit 30 only
