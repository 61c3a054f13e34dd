"""The local AI provider: plain words to rule trees (checked on PostgreSQL), intents, suggestions."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import asyncpg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicrm import rules, templating
from minicrm.ai import local, phrases
from minicrm.ai.service import finalize_rule_group
from support.deployment import ADMIN_DSN


def R(attribute, operator, value):
    return {"attribute": attribute, "operator": operator, "value": value}


def W(attribute, operator, value, days):
    return {"attribute": attribute, "operator": operator, "value": value, "days": days}


def orders(c, days):
    """The customer's completed orders in the last `days` days (none lies on a window's first day)."""
    return sum(1 for ago, _ in c["orders"] if ago < days)


def spent(c, days):
    return sum(amount for ago, amount in c["orders"] if ago < days)


def AND(*rules_):
    return {"combinator": "AND", "rules": list(rules_)}


def OR(*rules_):
    return {"combinator": "OR", "rules": list(rules_)}


# (words, expected tree, what the words mean for a customer c: spend, visit, city, days since last
# order, and completed orders (days ago, amount))
PHRASES = [
    ("customers who ordered 3 times this month", AND(W("orders_within", ">=", "3", 30)), lambda c: orders(c, 30) >= 3),
    (
        "spent more than 5000 in the last 7 days",
        AND(W("spend_within", ">", "5000", 7)),
        lambda c: spent(c, 7) > 5000,
    ),
    (
        "ordered at least twice in the last 90 days",
        AND(W("orders_within", ">=", "2", 90)),
        lambda c: orders(c, 90) >= 2,
    ),
    (
        "placed at least 3 orders in the past 2 weeks",
        AND(W("orders_within", ">=", "3", 14)),
        lambda c: orders(c, 14) >= 3,
    ),
    ("more than 2 orders in the last 60 days", AND(W("orders_within", ">", "2", 60)), lambda c: orders(c, 60) > 2),
    ("fewer than 2 orders in the last 90 days", AND(W("orders_within", "<", "2", 90)), lambda c: orders(c, 90) < 2),
    ("ordered once in the last 6 months", AND(W("orders_within", ">=", "1", 180)), lambda c: orders(c, 180) >= 1),
    (
        "spent between 1000 and 5000 in the last month",
        AND(W("spend_within", ">=", "1000", 30), W("spend_within", "<=", "5000", 30)),
        lambda c: 1000 <= spent(c, 30) <= 5000,
    ),
    (
        "customers in Mumbai who spent over 2k this week",
        AND(R("city", "=", "Mumbai"), W("spend_within", ">", "2000", 7)),
        lambda c: c["city"] == "Mumbai" and spent(c, 7) > 2000,
    ),
    ("customers who spent over 5000", AND(R("total_spend", ">", "5000")), lambda c: c["spend"] > 5000),
    ("spent more than ₹10,000", AND(R("total_spend", ">", "10000")), lambda c: c["spend"] > 10000),
    ("spend above 10k", AND(R("total_spend", ">", "10000")), lambda c: c["spend"] > 10000),
    ("total spend greater than 2 lakh", AND(R("total_spend", ">", "200000")), lambda c: c["spend"] > 200000),
    ("customers who spent at least Rs 5000", AND(R("total_spend", ">=", "5000")), lambda c: c["spend"] >= 5000),
    ("spent less than 1000", AND(R("total_spend", "<", "1000")), lambda c: c["spend"] < 1000),
    ("spend under 500", AND(R("total_spend", "<", "500")), lambda c: c["spend"] < 500),
    ("spent below 2,500", AND(R("total_spend", "<", "2500")), lambda c: c["spend"] < 2500),
    ("spent at most 3000", AND(R("total_spend", "<=", "3000")), lambda c: c["spend"] <= 3000),
    (
        "spend between 1000 and 5000",
        AND(R("total_spend", ">=", "1000"), R("total_spend", "<=", "5000")),
        lambda c: 1000 <= c["spend"] <= 5000,
    ),
    (
        "customers that spent between 2k and 8k",
        AND(R("total_spend", ">=", "2000"), R("total_spend", "<=", "8000")),
        lambda c: 2000 <= c["spend"] <= 8000,
    ),
    ("more than 5000 in spend", AND(R("total_spend", ">", "5000")), lambda c: c["spend"] > 5000),
    ("visited more than 3 times", AND(R("visit", ">", "3")), lambda c: c["visit"] > 3),
    ("visits over 5", AND(R("visit", ">", "5")), lambda c: c["visit"] > 5),
    ("at least 2 visits", AND(R("visit", ">=", "2")), lambda c: c["visit"] >= 2),
    ("fewer than 2 visits", AND(R("visit", "<", "2")), lambda c: c["visit"] < 2),
    ("visited exactly 4 times", AND(R("visit", "=", "4")), lambda c: c["visit"] == 4),
    ("visited less than 3 times", AND(R("visit", "<", "3")), lambda c: c["visit"] < 3),
    ("customers in Mumbai", AND(R("city", "=", "Mumbai")), lambda c: c["city"] == "Mumbai"),
    ("people from Delhi", AND(R("city", "=", "Delhi")), lambda c: c["city"] == "Delhi"),
    ("customers living in Navi Mumbai", AND(R("city", "=", "Navi Mumbai")), lambda c: c["city"] == "Navi Mumbai"),
    (
        "customers in Mumbai or Delhi",
        OR(R("city", "=", "Mumbai"), R("city", "=", "Delhi")),
        lambda c: c["city"] in ("Mumbai", "Delhi"),
    ),
    (
        "customers from Pune, Goa and Delhi",
        OR(R("city", "=", "Pune"), R("city", "=", "Goa"), R("city", "=", "Delhi")),
        lambda c: c["city"] in ("Pune", "Goa", "Delhi"),
    ),
    ("customers not in Mumbai", AND(R("city", "!=", "Mumbai")), lambda c: c["city"] not in (None, "Mumbai")),
    ("everyone outside Delhi", AND(R("city", "!=", "Delhi")), lambda c: c["city"] not in (None, "Delhi")),
    (
        "not from Pune or Goa",
        AND(R("city", "!=", "Pune"), R("city", "!=", "Goa")),
        lambda c: c["city"] not in (None, "Pune", "Goa"),
    ),
    ("no order in 90 days", AND(R("last_order_date", "<", "90")), lambda c: c["days"] is not None and c["days"] > 90),
    (
        "haven't ordered in 3 months",
        AND(R("last_order_date", "<", "90")),
        lambda c: c["days"] is not None and c["days"] > 90,
    ),
    (
        "customers who have not purchased in the last 60 days",
        AND(R("last_order_date", "<", "60")),
        lambda c: c["days"] is not None and c["days"] > 60,
    ),
    ("inactive for 45 days", AND(R("last_order_date", "<", "45")), lambda c: c["days"] is not None and c["days"] > 45),
    (
        "last ordered more than 2 weeks ago",
        AND(R("last_order_date", "<", "14")),
        lambda c: c["days"] is not None and c["days"] > 14,
    ),
    (
        "ordered within the last 30 days",
        AND(R("last_order_date", ">", "30")),
        lambda c: c["days"] is not None and c["days"] < 30,
    ),
    (
        "purchased in the past 7 days",
        AND(R("last_order_date", ">", "7")),
        lambda c: c["days"] is not None and c["days"] < 7,
    ),
    (
        "active in the last 2 months",
        AND(R("last_order_date", ">", "60")),
        lambda c: c["days"] is not None and c["days"] < 60,
    ),
    (
        "spent over 5000 and live in Mumbai",
        AND(R("total_spend", ">", "5000"), R("city", "=", "Mumbai")),
        lambda c: c["spend"] > 5000 and c["city"] == "Mumbai",
    ),
    (
        "customers in Delhi who visited more than 2 times",
        AND(R("city", "=", "Delhi"), R("visit", ">", "2")),
        lambda c: c["city"] == "Delhi" and c["visit"] > 2,
    ),
    (
        "spent over 10k or visited more than 5 times",
        OR(R("total_spend", ">", "10000"), R("visit", ">", "5")),
        lambda c: c["spend"] > 10000 or c["visit"] > 5,
    ),
    (
        "customers in Mumbai or Pune who spent more than 2000",
        AND(OR(R("city", "=", "Mumbai"), R("city", "=", "Pune")), R("total_spend", ">", "2000")),
        lambda c: c["city"] in ("Mumbai", "Pune") and c["spend"] > 2000,
    ),
    (
        "spent under 1000 and no order in 6 months",
        AND(R("total_spend", "<", "1000"), R("last_order_date", "<", "180")),
        lambda c: c["spend"] < 1000 and c["days"] is not None and c["days"] > 180,
    ),
    (
        "ordered in the last 30 days and spent over 3000 and not in Goa",
        AND(R("last_order_date", ">", "30"), R("total_spend", ">", "3000"), R("city", "!=", "Goa")),
        lambda c: c["days"] is not None and c["days"] < 30 and c["spend"] > 3000 and c["city"] not in (None, "Goa"),
    ),
    (
        "at least 3 visits or spend between 500 and 1500",
        OR(R("visit", ">=", "3"), AND(R("total_spend", ">=", "500"), R("total_spend", "<=", "1500"))),
        lambda c: c["visit"] >= 3 or 500 <= c["spend"] <= 1500,
    ),
    (
        "high spenders over 50000 in Delhi",
        AND(R("total_spend", ">", "50000"), R("city", "=", "Delhi")),
        lambda c: c["spend"] > 50000 and c["city"] == "Delhi",
    ),
]

CUSTOMERS = [
    {"spend": spend, "visit": visit, "city": city, "days": days, "orders": history}
    for spend in (0, 400, 999, 1000, 2500, 5000, 5001, 9000, 12000, 60000, 250000)
    for visit, city, days, history in (
        (0, "Mumbai", None, []),
        (2, "Delhi", 3, [(3, 6000)]),
        (3, "Pune", 20, [(2, 100), (5, 200), (20, 300)]),
        (4, "Goa", 50, [(10, 1000), (20, 1000), (45, 4000), (50, 500)]),
        (6, "Navi Mumbai", 100, [(100, 9000)]),
        (1, None, 200, [(200, 50)]),
        (5, "Mumbai", 13, [(2, 2000), (2, 2500), (5, 1000), (13, 700), (13, 10)]),
    )
]


def test_there_are_at_least_40_phrasings():
    assert len(PHRASES) >= 40


@pytest.mark.parametrize("words, expected, meaning", PHRASES, ids=[p[0] for p in PHRASES])
def test_words_become_the_expected_tree(words, expected, meaning):
    tree = phrases.rule_group(words)
    assert tree is not None
    assert rules.parse(tree) == rules.parse(expected)


@pytest.fixture(scope="module")
def population(stack):
    loop = asyncio.new_event_loop()
    conn = loop.run_until_complete(asyncpg.connect(ADMIN_DSN, server_settings={"timezone": "UTC"}))
    now = loop.run_until_complete(conn.fetchval("SELECT now()"))
    loop.run_until_complete(
        conn.execute(
            "CREATE TEMP TABLE customers"
            " (id int, total_spend numeric(14,2), visit int, city text, last_order_date timestamptz)"
        )
    )
    # Half a day off each whole day, so no date sits on a day boundary.
    loop.run_until_complete(
        conn.executemany(
            "INSERT INTO customers VALUES ($1, $2, $3, $4, $5)",
            [
                (
                    i,
                    c["spend"],
                    c["visit"],
                    c["city"],
                    None if c["days"] is None else now - timedelta(days=c["days"], hours=12),
                )
                for i, c in enumerate(CUSTOMERS)
            ],
        )
    )
    # Their completed orders, and a refunded one each that no window counts.
    loop.run_until_complete(
        conn.execute(
            "CREATE TEMP TABLE orders (customer_id int, order_date timestamptz, amount numeric(14,2), status text)"
        )
    )
    loop.run_until_complete(
        conn.executemany(
            "INSERT INTO orders VALUES ($1, $2, $3, $4)",
            [
                (i, now - timedelta(days=ago, hours=12), amount, status)
                for i, c in enumerate(CUSTOMERS)
                for ago, amount, status in [*((a, m, "COMPLETED") for a, m in c["orders"]), (1, 99_999, "REFUNDED")]
            ],
        )
    )
    yield loop, conn
    loop.run_until_complete(conn.close())
    loop.close()


@pytest.mark.parametrize("words, expected, meaning", PHRASES, ids=[p[0] for p in PHRASES])
def test_the_tree_selects_what_the_words_mean(population, words, expected, meaning):
    loop, conn = population
    condition, params = rules.compile_tree(finalize_rule_group(phrases.rule_group(words)))
    selected = {
        r["id"] for r in loop.run_until_complete(conn.fetch(f"SELECT id FROM customers c WHERE {condition}", *params))
    }
    assert selected == {i for i, c in enumerate(CUSTOMERS) if meaning(c)}


def test_words_it_cannot_read():
    assert phrases.rule_group("make it pop") is None
    assert phrases.rule_group("customers in the last quarter of the moon") is None


# ---- intents -------------------------------------------------------------------------------

values = {
    "total_spend": st.integers(0, 10**7).map(str),
    "visit": st.integers(0, 500).map(str),
    "city": st.sampled_from(["Mumbai", "Navi Mumbai", "Delhi", "São Paulo"]),
    "last_order_date": st.integers(0, 3650).map(str),
    "orders_within": st.integers(0, 50).map(str),
    "spend_within": st.integers(0, 10**7).map(str),
}
rule_st = st.sampled_from(sorted(values)).flatmap(
    lambda a: st.builds(
        lambda *args: W(*args) if a in rules.WINDOW_ATTRIBUTES else R(*args[:3]),
        st.just(a),
        st.sampled_from(sorted(rules.STRING_OPERATORS if a == "city" else rules.NUMBER_OPERATORS)),
        values[a],
        st.integers(1, 365),
    )
)
tree_st = st.recursive(
    rule_st,
    lambda kids: st.builds(
        lambda c, r: {"combinator": c, "rules": r},
        st.sampled_from(["AND", "OR"]),
        st.lists(kids, min_size=1, max_size=3),
    ),
    max_leaves=8,
).map(lambda t: t if "rules" in t else AND(t))

WORDS = {
    "total_spend": "spent",
    "visit": "visited",
    "city": "live in",
    "last_order_date": "order",
    "orders_within": "ordered",
    "spend_within": "spent",
}


@settings(max_examples=200, deadline=None)
@given(tree=tree_st)
def test_intents_name_every_attribute_and_value(tree):
    text = local.intent(tree, "₹")
    assert text.startswith("Customers who ") and text.endswith(".")

    def walk(node):
        for r in node["rules"]:
            if "rules" in r:
                yield from walk(r)
            else:
                yield r

    for r in walk(tree):
        assert WORDS[r["attribute"]] in text
        money = r["attribute"] in ("total_spend", "spend_within")
        shown = f"₹{int(r['value']):,}" if money else r["value"]
        assert shown in text, (shown, text)
        if "days" in r:
            assert f"in the last {r['days']} day" in text, (r, text)


def test_suggestions_use_only_allowed_placeholders():
    for name, objective in [("Diwali", "20% off sweets"), ("{{x}}", "{{password}} reset"), ("", "")]:
        out = local.suggestions(name or "Sale", objective or "news")
        assert len(out) == 3
        for message in out:
            templating.parse(message)


OBJECTIVES = [
    ("Winback", "win back lapsed high spenders who stopped buying"),
    ("We miss you", "re-engage customers inactive for 90 days"),
    ("Diwali Sale", "20% off sweets for the festive season"),
    ("Christmas", "push gift cards to families before the holidays"),
    ("Eid offers", "celebrate eid with our loyal customers in Hyderabad"),
    ("New Year", "start the year with a bang and clear old stock"),
    ("Flash sale", "clear winter inventory quickly with a 30% discount"),
    ("Clearance", "move the last units of discontinued shoes"),
    ("Weekend deal", "drive footfall to stores on saturday and sunday"),
    ("Monsoon collection", "introduce the new monsoon collection of raincoats"),
    ("Launch", "announce our mobile app launch to existing buyers"),
    ("Just in", "show off latest arrivals in home decor"),
    ("VIP", "thank our top customers and give early access"),
    ("Rewards", "tell members about the new points programme"),
    ("Premium", "upsell premium subscription to high spend customers"),
    ("Welcome", "welcome new customers who signed up this month"),
    ("First order", "convert sign ups into a first purchase"),
    ("Onboarding", "onboard customers who joined through the referral program"),
    ("Feedback", "ask recent buyers to rate their purchase"),
    ("Survey", "collect opinions about our delivery experience"),
    ("Back to school", "bags and stationery for parents of school kids"),
    ("Summer", "promote cold drinks and ice cream in hot cities"),
    ("Referral", "get customers to invite friends for a reward"),
    ("Anniversary", "celebrate our 5th anniversary with 15 % cashback"),
    ("Cart", "remind people who abandoned their carts last week"),
    ("Restock", "tell customers their favourite tea is back in stock"),
    ("Local", "bring Pune customers to the new store opening"),
    ("Upgrade", "cross-sell accessories to phone buyers"),
    ("Price drop", "inform wishlist owners that prices dropped"),
    ("", "increase repeat purchase rate among one-time buyers by Q3"),
]


@pytest.mark.parametrize("name,objective", OBJECTIVES)
def test_suggestions_read_like_messages_and_never_paste_the_brief(name, objective):
    messages = local.suggestions(name, objective)
    assert len(messages) == 3 and len(set(messages)) == 3
    brief = objective.lower().split()
    runs = {" ".join(brief[i : i + 3]) for i in range(len(brief) - 2)}
    for message in messages:
        templating.parse(message)  # only the allowed placeholders
        assert "{{name}}" in message  # the personal touch
        text = " ".join(message.lower().replace(",", " ").replace(".", " ").replace("!", " ").split())
        leaked = [run for run in runs if run in text]
        assert not leaked, (leaked, message)
    percent = re.search(r"(\d+)\s?%", objective)
    if percent:
        assert any(f"{percent.group(1)}% off" in m for m in messages)


def test_summaries_give_money_in_the_currency():
    stats = {
        "audience_size": 10,
        "sent": 10,
        "failed": 0,
        "delivery_rate": 1.0,
        "by_spend_band": [],
        "by_city": [],
        "conversions": 2,
        "conversion_rate": 0.2,
        "attributed_revenue": 1500.0,
        "attribution_days": 1,
    }
    text = local.summary("Spring", stats, currency="$")
    assert (
        "It earned $1,500 from 2 customers who ordered within 1 day of each message, a conversion rate of 20.0%" in text
    )
