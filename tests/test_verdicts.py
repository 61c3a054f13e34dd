"""The stream's verdicts (`verdicts.evaluate` on `sql.facts.of`) against the SQL compiler's, after
random customers and order events stored through the ingest code, on a database of its own."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minicrm import rules, sql, verdicts
from minicrm.db import create_pool
from minicrm.streams import customers as customer_stream
from minicrm.streams import orders as order_stream
from minicrm.streams.batching import store
from support.deployment import Pipeline

pytestmark = pytest.mark.integration

CITIES = [
    "Pune",
    "pune",
    "PUNE",
    "Goa",
    "İstanbul",
    "istanbul",
    "i̇stanbul",
    "ΟΔΟΣ",
    "οδοσ",
    "οδος",
    "Straße",
    "STRASSE",
]
STATUSES = ["COMPLETED", "COMPLETED", "REFUNDED", "CANCELLED", "PENDING"]  # half of them count
# Orders in the last days, the future's and the year's; the rules' windows mostly start on the
# day of an order or the day after it, so that an order on a window's first day, or on the day
# before it, decides many verdicts.
WINDOWS = [1, 7, 30]
DAYS_AGO = st.one_of(st.sampled_from([d + e for d in [0, *WINDOWS] for e in (-1, 0, 1)]), st.integers(-10, 400))
# Seconds into a day: its first and last microsecond lie on either side of a window's boundary.
MOMENTS = st.one_of(st.sampled_from([0.0, 86_399.999_999]), st.integers(0, 86_399).map(float))
CENTS = st.one_of(st.sampled_from([0, 1, 999, 1000, 5050]), st.integers(0, 1_000_000)).map(lambda c: Decimal(c) / 100)
COUNTS = st.one_of(st.integers(0, 4), st.decimals(-1, 6, places=1)).map(str)


@pytest.fixture(scope="module")
async def db(stack, tmp_path_factory):
    """A pool of one connection on a database of the test's own."""
    fresh = Pipeline(tmp_path_factory.mktemp("verdicts"))
    await fresh.create()
    pool = await create_pool(fresh.settings.database_url, min_size=1, max_size=1)
    try:
        yield pool
    finally:
        await pool.close()
        await fresh.drop()


def rule(attribute: str, operator: str, value: object, days: int | None = None) -> dict:
    return {"attribute": attribute, "operator": operator, "value": str(value)} | ({"days": days} if days else {})


numbers = st.sampled_from(sorted(rules.NUMBER_OPERATORS))


def tree_strategy(near: list[int]) -> st.SearchStrategy[dict]:
    """Rule trees whose windows and last_order_date days are mostly `near`."""
    days = st.one_of(st.sampled_from(near), st.sampled_from(near), st.integers(1, 365))
    rule_strategy = st.one_of(
        st.builds(rule, st.just("orders_within"), numbers, COUNTS, days),
        st.builds(rule, st.just("orders_within"), numbers, COUNTS, days),
        st.builds(rule, st.just("spend_within"), numbers, st.one_of(CENTS, st.decimals(-1, 30_000, places=3)), days),
        st.builds(rule, st.just("total_spend"), numbers, CENTS),
        st.builds(rule, st.just("visit"), numbers, st.decimals(0, 12, places=1)),
        st.builds(rule, st.just("city"), st.sampled_from(["=", "!="]), st.sampled_from(CITIES)),
        st.builds(rule, st.just("last_order_date"), numbers, st.one_of(days, st.integers(0, 400))),
    )
    return st.recursive(
        rule_strategy,
        lambda children: st.builds(
            lambda c, r: {"combinator": c, "rules": r}, st.sampled_from(["AND", "OR"]), st.lists(children, max_size=3)
        ),
        max_leaves=5,
    ).map(lambda t: t if "rules" in t else {"combinator": "AND", "rules": [t]})


CUSTOMERS = 4
customers = (customer_stream.write_customers, customer_stream.as_batch)
orders = (order_stream.ingest, order_stream.as_batch)
customer_event = st.tuples(
    st.just("customer"), st.integers(0, CUSTOMERS - 1), st.one_of(st.none(), st.sampled_from(CITIES)), st.integers(0, 3)
)
# An order of a customer: (customer, which of its orders, status, days ago, seconds into that day, amount).
order_event = st.tuples(
    st.just("order"),
    st.integers(0, CUSTOMERS - 1),
    st.integers(0, 3),
    st.sampled_from(STATUSES),
    DAYS_AGO,
    MOMENTS,
    CENTS,
)
# Enough orders a customer that windows differ from one another.
events_strategy = st.lists(
    st.lists(st.one_of(customer_event, order_event, order_event, order_event), min_size=2, max_size=8),
    min_size=2,
    max_size=5,
)


def customer_record(ids: list[uuid.UUID], tag: str, event: tuple) -> dict:
    _, i, city, visit = event
    return {"id": str(ids[i]), "name": f"Person {i}", "email": f"{tag}.{i}@example.com", "city": city, "visit": visit}


def order_record(ids: list[uuid.UUID], tag: str, today: datetime, event: tuple) -> dict:
    _, i, k, status, days_ago, seconds, amount = event
    return {
        "id": f"{tag}-{i}-{k}",
        "customer_id": str(ids[i]),
        "status": status,
        "amount": f"{amount:.2f}",
        "order_date": (today - timedelta(days=days_ago, seconds=-seconds)).isoformat(),
        "items": [],
    }


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    batches=events_strategy,
    cities=st.lists(st.sampled_from([None, *CITIES]), min_size=CUSTOMERS, max_size=CUSTOMERS),
    data=st.data(),
)
async def test_the_streams_verdict_is_the_sql_compilers(db, batches, cities, data):
    ago = {e[4] + d for batch in batches for e in batch if e[0] == "order" for d in (-1, 0)}
    trees = data.draw(
        st.lists(tree_strategy(sorted({*WINDOWS, *(d for d in ago if 1 <= d <= 365)})), min_size=8, max_size=16)
    )
    tag, ids = uuid.uuid4().hex[:8], [uuid.uuid4() for _ in range(CUSTOMERS)]
    now = await db.fetchval("SELECT now()")
    today = datetime.combine(now.date(), datetime.min.time(), UTC)
    writes = [(customers, [customer_record(ids, tag, (None, i, c, 0)) for i, c in enumerate(cities)])]
    for batch in batches:
        writes.append((customers, [customer_record(ids, tag, e) for e in batch if e[0] == "customer"]))
        writes.append((orders, [order_record(ids, tag, today, e) for e in batch if e[0] == "order"]))
    for (write, wrap), records in writes:  # as the ingest agents store them: a record that fails is dead-lettered
        await store(db, "verdicts", records, write, wrap)
    async with db.acquire() as conn:
        async with conn.transaction(isolation="repeatable_read"):
            now = await conn.fetchval("SELECT now()")  # the transaction's, which the SQL's boundary uses
            for tree in trees:
                group = rules.parse(tree)
                condition, params = rules.compile_sql(group, first_param=2)
                query = f"SELECT c.id FROM customers c WHERE c.id = ANY($1) AND {condition}"
                members = {r["id"] for r in await conn.fetch(query, ids, *params)}
                facts = await sql.facts.of(conn, ids, verdicts.horizon(group))
                assert set(facts) == set(ids)
                assert {i for i in ids if verdicts.evaluate(group, facts[i], now)} == members, (tree, facts)


class Rollback(Exception):
    """Leaves the database as the test found it."""


async def test_facts_hold_completed_orders_by_utc_day_from_the_horizon_on(db):
    tag, (customer, other) = uuid.uuid4().hex[:8], (uuid.uuid4(), uuid.uuid4())
    async with db.acquire() as conn:
        try:
            async with conn.transaction():
                now = await conn.fetchval("SELECT now()")
                today = datetime.combine(now.date(), datetime.min.time(), UTC)
                await customer_stream.write_customers(conn, [customer_record([customer], tag, (None, 0, "Goa", 2))])
                orders = [
                    ("order", 0, 0, "COMPLETED", 7, 0.0, Decimal("10.50")),  # the horizon's first moment
                    ("order", 0, 1, "COMPLETED", 8, 86_399.999_999, Decimal(99)),  # its last before
                    ("order", 0, 2, "COMPLETED", 0, 60.0, Decimal("1.25")),
                    ("order", 0, 3, "COMPLETED", 0, 120.0, Decimal("2.25")),
                    ("order", 0, 4, "REFUNDED", 0, 180.0, Decimal(7)),
                    ("order", 0, 5, "COMPLETED", -3, 0.0, Decimal(3)),  # dated in the future
                ]
                await order_stream.ingest(conn, [order_record([customer], tag, today, e) for e in orders])
                found = await sql.facts.of(conn, [customer, other], 7)
                none = await sql.facts.of(conn, [customer], 0)
                raise Rollback
        except Rollback:
            pass
    day = today.date()
    assert list(found) == [customer]
    facts = found[customer]
    assert (facts.total_spend, facts.visit, facts.city) == (Decimal("116.00"), 2 + 6, "Goa")
    assert facts.last_order_date == today + timedelta(days=3)
    assert facts.days == {
        day - timedelta(days=7): (1, Decimal("10.50")),
        day: (2, Decimal("3.50")),
        day + timedelta(days=3): (1, Decimal(3)),
    }
    assert none[customer].days == {}


async def test_cities_lower_as_postgresql_lowers_them(db):
    """Every code point (but NUL and the surrogates), and a word ending in a capital sigma."""
    text = "".join(chr(i) for i in range(1, 0x110000) if not 0xD800 <= i <= 0xDFFF) + " ΟΔΟΣ"
    lowered = await db.fetchval("SELECT lower($1::text)", text)
    mine = verdicts.lower(text)
    differ = next((i for i, (a, b) in enumerate(zip(lowered, mine, strict=False)) if a != b), None)
    assert differ is None and len(lowered) == len(mine), (differ, text[differ or 0])


# ---- the evaluator alone -----------------------------------------------------------------

NOW = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)


def facts(**given: object) -> verdicts.Facts:
    base: dict = {"total_spend": Decimal(0), "visit": 0, "city": None, "last_order_date": None, "days": {}}
    return verdicts.Facts(**(base | given))


def verdict(tree: dict, **given: object) -> bool:
    return verdicts.evaluate(rules.parse(tree), facts(**given), NOW)


def test_a_window_counts_from_the_start_of_the_utc_day_n_days_ago():
    orders = {
        date(2026, 3, 3): (2, Decimal("100.10")),
        date(2026, 3, 2): (5, Decimal(1000)),
        date(2026, 4, 1): (1, Decimal(1)),
    }
    within_7 = {"rules": [rule("orders_within", "=", 3, 7)]}
    assert verdict(within_7, days=orders)
    assert verdict({"rules": [rule("spend_within", "=", "101.10", 7)]}, days=orders)
    assert verdict({"rules": [rule("orders_within", "=", 8, 8)]}, days=orders)
    assert verdict({"rules": [rule("orders_within", "=", 0, 7)]}) and verdict(
        {"rules": [rule("spend_within", "<=", 0, 1)]}
    )
    assert not verdict({"rules": [rule("orders_within", "=", "2.5", 7)]}, days=orders)
    assert verdict({"rules": [rule("orders_within", "!=", "2.5", 7)]})


def test_nulls_match_no_comparison_and_an_empty_group_everyone():
    for operator in rules.NUMBER_OPERATORS:
        assert not verdict({"rules": [rule("last_order_date", operator, 3)]})
    assert not verdict({"rules": [rule("city", "!=", "Pune")]})
    assert verdict({"rules": [rule("city", "!=", "Pune")]}, city="Goa")
    assert verdict({"combinator": "OR", "rules": []})
    assert verdict({"rules": [rule("city", "=", "ΟΔΟΣ")]}, city="οδοσ")
    assert not verdict({"rules": [rule("city", "=", "ΟΔΟΣ")]}, city="οδος")


def test_what_the_journeys_worker_asks_of_a_tree():
    tree = rules.parse(
        {
            "combinator": "OR",
            "rules": [
                rule("visit", ">", 2),
                {"rules": [rule("orders_within", ">=", 3, 30), rule("spend_within", ">", 5000, 7)]},
                rule("last_order_date", "<", 90),
            ],
        }
    )
    assert (verdicts.horizon(tree), verdicts.time_dependent(tree), verdicts.boundary_days(tree)) == (
        30,
        True,
        {7, 30, 90},
    )
    plain = rules.parse({"rules": [rule("visit", ">", 2), rule("city", "=", "Goa")]})
    assert (verdicts.horizon(plain), verdicts.time_dependent(plain), verdicts.boundary_days(plain)) == (0, False, set())
