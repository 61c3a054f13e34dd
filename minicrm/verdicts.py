"""A customer's verdict on a rule tree from facts in hand: what `rules.compile_sql` selects, in Python.

The journeys worker keeps the facts in its tables and evaluates each event's customer here, so
every comparison mirrors PostgreSQL's: a NULL matches nothing (`!=` included), cities compare as
`lower()` on the database's C.UTF-8 ctype does, counts through `rules.integer_bound`, money as
numeric, and days from the start of the UTC day (connections run in UTC, `db.create_pool`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from minicrm import rules

ZERO = Decimal(0)
COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    "<": operator.lt,
    "=": operator.eq,
    ">=": operator.ge,
    "<=": operator.le,
    "!=": operator.ne,
}
SQL_COMPARE = {sql: COMPARE[op] for op, sql in rules.NUMBER_OPERATORS.items()}  # integer_bound's operators
# PostgreSQL lowers a character at a time (towlower); str.lower applies Unicode's full mappings:
# "İ" (U+0130) becomes "i̇" (two characters) and a word's final "Σ" (U+03A3) becomes "ς". Every other
# character lowers alike (checked against the server for every code point, tests/test_verdicts.py).
_SIMPLE_CASE = str.maketrans({"\u0130": "i", "\u03a3": "\u03c3"})


@dataclass(frozen=True)
class Facts:
    """One customer as the stream sees it."""

    total_spend: Decimal
    visit: int
    city: str | None
    last_order_date: datetime | None
    days: Mapping[date, tuple[int, Decimal]]  # COMPLETED orders per UTC day of order_date: (count, amount)


def lower(text: str) -> str:
    """`lower(text)` as PostgreSQL computes it on the database's ctype."""
    return text.translate(_SIMPLE_CASE).lower()


def day_start(now: datetime, days: int) -> datetime:
    """`date_trunc('day', now()) - make_interval(days => days)` in a UTC session."""
    return datetime.combine(now.astimezone(UTC).date(), time(), UTC) - timedelta(days=days)


def window(facts: Facts, days: int, now: datetime) -> tuple[int, Decimal]:
    """(orders, amount) of the customer's COMPLETED orders on or after the start of the UTC day
    `days` ago; later days, the future's included, all count."""
    start = day_start(now, days).date()
    count, amount = 0, ZERO
    for day, (n, spent) in facts.days.items():
        if day >= start:
            count, amount = count + n, amount + spent
    return count, amount


def _rule(rule: rules.Rule, facts: Facts, now: datetime) -> bool:
    if rule.attribute == "city":
        return facts.city is not None and COMPARE[rule.operator](lower(facts.city), lower(str(rule.value)))
    if rule.attribute == "last_order_date":
        if facts.last_order_date is None:
            return False
        return COMPARE[rule.operator](facts.last_order_date, day_start(now, int(rule.number)))
    value: int | Decimal
    if rule.attribute in rules.WINDOW_ATTRIBUTES:
        assert rule.days is not None, rule
        count, amount = window(facts, rule.days, now)
        value = count if rule.attribute == "orders_within" else amount
    else:
        value = facts.total_spend if rule.attribute == "total_spend" else facts.visit
    if rule.attribute in rules.INTEGER_ATTRIBUTES:
        op, bound = rules.integer_bound(rule.operator, rule.number)
        return SQL_COMPARE[op](value, bound)
    return COMPARE[rule.operator](value, rule.number)


def evaluate(group: rules.Group, facts: Facts, now: datetime) -> bool:
    """The verdict of `rules.compile_sql(group)`'s condition on this customer at `now`; an empty
    group matches everyone. `now` is timezone-aware, as are the facts' datetimes."""
    if not group.rules:
        return True
    verdicts = (evaluate(r, facts, now) if isinstance(r, rules.Group) else _rule(r, facts, now) for r in group.rules)
    return all(verdicts) if group.combinator == "AND" else any(verdicts)


def _rules(group: rules.Group) -> Iterator[rules.Rule]:
    for node in group.rules:
        if isinstance(node, rules.Group):
            yield from _rules(node)
        else:
            yield node


def horizon(group: rules.Group) -> int:
    """The most days any window rule of the tree looks back (0 when none): how many days of
    buckets before today `Facts.days` needs."""
    return max((r.days for r in _rules(group) if r.days is not None), default=0)


def time_dependent(group: rules.Group) -> bool:
    """Whether time alone can change the verdict: the tree has a last_order_date or window rule."""
    return bool(boundary_days(group))


def boundary_days(group: rules.Group) -> set[int]:
    """The N of every last_order_date and window rule: at each UTC midnight, the customers with
    an order (window rules) or a last_order_date on the day N days back may change verdict."""
    found: set[int] = set()
    for r in _rules(group):
        if r.attribute in rules.DATE_ATTRIBUTES:
            found.add(int(r.number))
        elif r.days is not None:
            found.add(r.days)
    return found
