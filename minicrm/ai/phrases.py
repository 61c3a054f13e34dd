"""Plain words to a ruleGroup, for the common phrasings: no model, no network.

Understands spend over, under or between amounts (5000, 5,000, 5k, 2 lakh, ₹ or Rs),
visit counts, one city or several, not in a city, no order in N days/weeks/months,
ordered within N days, orders counted or spend summed over a window ("ordered 3 times
this month", "spent more than 5000 in the last 7 days"), and clauses joined with "and" and
"or". Returns None when it finds nothing it understands.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

_NUM = r"(?:rs\.?\s*|inr\s*|₹\s*|\$\s*)?(\d[\d,]*(?:\.\d+)?)\s*(k|thousand|lakh|lakhs|lac|l|m|million)?\b"
_UNITS = {
    "k": 1_000,
    "thousand": 1_000,
    "lakh": 100_000,
    "lakhs": 100_000,
    "lac": 100_000,
    "l": 100_000,
    "m": 1_000_000,
    "million": 1_000_000,
}
_PERIOD = r"(\d+)\s*(day|days|week|weeks|month|months|year|years)"
_PERIOD_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}
# A window of days back from today: "in the last 7 days", "over the past 2 weeks", "in the last
# month", "this week" (7 days: a window of N days starts at the start of the UTC day N days ago,
# so "today" has none). Groups: a count and its unit, or the unit of "this".
_WITHIN = (
    r"(?:(?:in|within|during|over)\s+(?:the\s+)?(?:last|past)\s+(?:(\d+)\s*)?(days?|weeks?|months?|years?)"
    r"|this\s+(week|month|year))\b"
)
_TIMES = r"(once|twice|thrice|\d+\s+times?)"
_TIMES_COUNT = {"once": "1", "twice": "2", "thrice": "3"}
_CITY = r"([A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*)"
_CITY_LIST = _CITY + r"(?:\s*(?:,|\bor\b|\band\b)\s*" + _CITY + r")*"

_SPEND = r"(?:spent|spend|spending|spends|total spend|purchases?|bought|worth)"
_MORE = r"(?:over|more than|above|greater than|at least|>=|>|exceeding|upwards of|min(?:imum)? of)"
_LESS = r"(?:under|less than|below|at most|<=|<|no more than|max(?:imum)? of)"


def _amount(number: str, unit: str | None) -> str:
    value = float(number.replace(",", "")) * _UNITS.get((unit or "").lower(), 1)
    return f"{value:g}" if value != int(value) else str(int(value))


def _op(word: str, inclusive_words: tuple[str, ...] = ("at least", ">=", "min")) -> str:
    word = word.lower()
    if word.startswith(("over", "more", "above", "greater", ">", "exceed", "upwards")) and word != ">=":
        return ">"
    if any(word.startswith(w) for w in inclusive_words):
        return ">="
    if word.startswith(("at most", "<=", "no more", "max")):
        return "<="
    return "<"


def _days(count: str, unit: str) -> str:
    return str(int(count) * _PERIOD_DAYS[unit.lower().rstrip("s")])


def _rule(attribute: str, operator: str, value: str) -> dict[str, Any]:
    return {"attribute": attribute, "operator": operator, "value": value}


def _window(count: str | None, unit: str | None, this: str | None) -> int:
    """The days of a `_WITHIN` match ("this month" is the last 30 days)."""
    return int(count or 1) * _PERIOD_DAYS[(unit or this or "day").lower().rstrip("s")]


def _window_rule(attribute: str, operator: str, value: str, days: int) -> dict[str, Any] | None:
    """A window rule, or None past the longest window a rule may have."""
    return {**_rule(attribute, operator, value), "days": days} if days <= 365 else None


def _times(words: str) -> str:
    words = words.lower()
    return _TIMES_COUNT.get(words) or words.split()[0]


def _count_op(word: str | None) -> str:
    """The operator of a count: "3 times" alone means at least 3."""
    if not word:
        return ">="
    word = word.lower()
    return "=" if word == "exactly" else "<" if word == "fewer than" else _op(word)


def _between(attribute: str, low: str, high: str, days: int | None = None) -> dict[str, Any] | None:
    rules = [_rule(attribute, ">=", low), _rule(attribute, "<=", high)]
    if days is None:
        return {"combinator": "AND", "rules": rules}
    if days > 365:
        return None
    return {"combinator": "AND", "rules": [{**r, "days": days} for r in rules]}


def _cities(text: str) -> list[str]:
    names = re.split(r"\s*(?:,|\bor\b|\band\b)\s*", text)
    return [n.strip() for n in names if n.strip()]


# Each pattern: (regex, builder(match) -> rule or group). Searched case-insensitively except
# city names, which must be capitalised so that "in the last 30 days" is no city.
_PATTERNS: list[tuple[re.Pattern[str], Any]] = [
    # Windows first: "spent over 5000 in the last 7 days" is no total spend.
    (
        re.compile(rf"{_SPEND}\s+between\s+{_NUM}\s+and\s+{_NUM}\s+{_WITHIN}", re.I),
        lambda m: _between("spend_within", _amount(m[1], m[2]), _amount(m[3], m[4]), _window(*m.groups()[4:])),
    ),
    (
        re.compile(rf"{_SPEND}\s+(?:of\s+)?({_MORE}|{_LESS})\s+{_NUM}\s+{_WITHIN}", re.I),
        lambda m: _window_rule("spend_within", _op(m[1]), _amount(m[2], m[3]), _window(*m.groups()[3:])),
    ),
    (
        re.compile(
            rf"(?:ordered|purchased|bought|shopped|placed\s+(?:an\s+)?orders?|orders?)\s+"
            rf"(?:(exactly|fewer than|{_MORE}|{_LESS})\s+)?{_TIMES}\s+{_WITHIN}",
            re.I,
        ),
        lambda m: _window_rule("orders_within", _count_op(m[1]), _times(m[2]), _window(*m.groups()[2:])),
    ),
    (
        re.compile(
            rf"(?:(exactly|fewer than|{_MORE}|{_LESS})\s+)?(\d+)\s+(or more\s+)?orders\s+"
            rf"(?:(?:placed|made)\s+)?{_WITHIN}",
            re.I,
        ),
        lambda m: _window_rule("orders_within", ">=" if m[3] else _count_op(m[1]), m[2], _window(*m.groups()[3:])),
    ),
    (
        re.compile(rf"{_SPEND}\s+between\s+{_NUM}\s+and\s+{_NUM}", re.I),
        lambda m: _between("total_spend", _amount(m[1], m[2]), _amount(m[3], m[4])),
    ),
    (
        re.compile(rf"{_SPEND}\s+(?:of\s+)?({_MORE}|{_LESS})\s+{_NUM}", re.I),
        lambda m: _rule("total_spend", _op(m[1]), _amount(m[2], m[3])),
    ),
    (
        re.compile(rf"({_MORE}|{_LESS})\s+{_NUM}\s+(?:in\s+)?(?:spend|spent|purchases)", re.I),
        lambda m: _rule("total_spend", _op(m[1]), _amount(m[2], m[3])),
    ),
    (
        re.compile(rf"(?:high|big)\s+spenders?\s+\(?({_MORE})\s+{_NUM}", re.I),
        lambda m: _rule("total_spend", _op(m[1]), _amount(m[2], m[3])),
    ),
    (
        re.compile(rf"(?:visited|visits?|came)\s+(?:us\s+)?({_MORE}|{_LESS}|exactly)\s+(\d+)(?:\s+times)?", re.I),
        lambda m: _rule("visit", "=" if m[1].lower() == "exactly" else _op(m[1]), m[2]),
    ),
    (
        re.compile(rf"({_MORE}|{_LESS}|exactly|fewer than)\s+(\d+)\s+visits?", re.I),
        lambda m: _rule(
            "visit", "=" if m[1].lower() == "exactly" else "<" if m[1].lower() == "fewer than" else _op(m[1]), m[2]
        ),
    ),
    (
        re.compile(
            rf"(?:no|not|haven't|have not|hasn't|has not|didn't|did not|without)\s+(?:an?\s+)?"
            rf"(?:order(?:ed)?|purchased?|bought|shopped)(?:\s+anything)?\s+(?:in|for|during|within)\s+"
            rf"(?:the\s+)?(?:last\s+|past\s+)?{_PERIOD}",
            re.I,
        ),
        lambda m: _rule("last_order_date", "<", _days(m[1], m[2])),
    ),
    (
        re.compile(rf"(?:inactive|dormant|lapsed)\s+(?:for\s+)?(?:over\s+|more than\s+)?{_PERIOD}", re.I),
        lambda m: _rule("last_order_date", "<", _days(m[1], m[2])),
    ),
    (
        re.compile(rf"last\s+order(?:ed)?\s+(?:more than|over)\s+{_PERIOD}\s+ago", re.I),
        lambda m: _rule("last_order_date", "<", _days(m[1], m[2])),
    ),
    (
        re.compile(
            rf"(?:ordered|purchased|bought|shopped|active|order)\s+(?:something\s+)?(?:in|within)\s+"
            rf"(?:the\s+)?(?:last|past)\s+{_PERIOD}",
            re.I,
        ),
        lambda m: _rule("last_order_date", ">", _days(m[1], m[2])),
    ),
    (
        re.compile(
            rf"(?i:not\s+(?:in|from|living in|based in)|outside(?:\s+of)?|except\s+(?:those\s+)?(?:in|from))"
            rf"\s+(?P<cities>{_CITY_LIST})"
        ),
        lambda m: {"combinator": "AND", "rules": [_rule("city", "!=", c) for c in _cities(m["cities"])]},
    ),
    (
        re.compile(
            rf"(?i:\bin|\bfrom|\blive in|\bliving in|\bbased in|\blocated in|\bcity(?: is| of)?)"
            rf"\s+(?P<cities>{_CITY_LIST})"
        ),
        lambda m: {"combinator": "OR", "rules": [_rule("city", "=", c) for c in _cities(m["cities"])]},
    ),
]

_CITY_STOPWORDS = {
    "The",
    "Last",
    "Past",
    "I",
    "A",
    "An",
    "Customers",
    "Customer",
    "People",
    "Users",
    "Who",
    "And",
    "Or",
}


def _clean_city_rule(node: dict[str, Any]) -> dict[str, Any] | None:
    rules = [r for r in node["rules"] if r["value"] not in _CITY_STOPWORDS]
    if not rules:
        return None
    return rules[0] if len(rules) == 1 else {**node, "rules": rules}


def rule_group(query: str) -> dict[str, Any] | None:
    """A ruleGroup for the query, or None. Overlapping matches keep the earliest pattern's."""
    found: list[tuple[int, int, dict[str, Any]]] = []
    taken: list[tuple[int, int]] = []
    for pattern, build in _PATTERNS:
        for m in pattern.finditer(query):
            if any(m.start() < end and start < m.end() for start, end in taken):
                continue
            node = build(m)
            if node is not None and "combinator" in node and node["rules"] and node["rules"][0]["attribute"] == "city":
                node = _clean_city_rule(node)
            if node is None:
                continue
            if "combinator" in node and len(node["rules"]) == 1:
                node = node["rules"][0]
            found.append((m.start(), m.end(), node))
            taken.append((m.start(), m.end()))
    if not found:
        return None
    found.sort(key=lambda f: f[0])
    # Clauses joined by "or" form an OR group; groups are joined by AND.
    groups: list[list[dict[str, Any]]] = [[found[0][2]]]
    for (_, end, _), (start, _, node) in itertools.pairwise(found):
        between = query[end:start].lower()
        if re.search(r"\bor\b", between) and not re.search(r"\band\b", between):
            groups[-1].append(node)
        else:
            groups.append([node])
    parts = [g[0] if len(g) == 1 else {"combinator": "OR", "rules": g} for g in groups]
    if len(parts) == 1 and "combinator" in parts[0]:
        return parts[0]
    return {"combinator": "AND", "rules": parts}
