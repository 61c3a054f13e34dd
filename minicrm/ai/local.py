"""The local provider: no network, deterministic, useful answers from the data itself."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from minicrm import rules

OPERATOR_WORDS = {">": "more than", "<": "less than", "=": "exactly", ">=": "at least", "<=": "at most", "!=": "other than"}


def _amount(value: Decimal, currency: str) -> str:
    return f"{currency}{value:,.2f}".replace(".00", "")


def _count(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _rule_words(rule: rules.Rule, currency: str) -> str:
    op = rule.operator
    if rule.attribute == "total_spend":
        return f"spent {OPERATOR_WORDS[op]} {_amount(rule.value, currency)}"
    if rule.attribute == "visit":
        return f"visited {OPERATOR_WORDS[op]} {_count(rule.value)} times"
    if rule.attribute == "city":
        return f"live in {rule.value}" if op == "=" else f"do not live in {rule.value}"
    days = _count(rule.value)
    return {
        "<": f"last ordered more than {days} days ago",
        "<=": f"last ordered {days} or more days ago",
        ">": f"ordered within the last {days} days",
        ">=": f"ordered within the last {days} days or on the day {days} days ago",
        "=": f"last ordered on the day {days} days ago",
        "!=": f"have an order but not last on the day {days} days ago",
    }[op]


def _group_words(group: rules.Group, currency: str, top: bool) -> str:
    parts = [
        _group_words(r, currency, False) if isinstance(r, rules.Group) else _rule_words(r, currency)
        for r in group.rules
    ]
    if not parts:
        return "everyone"
    joined = f" {group.combinator.lower()} ".join(parts)
    return joined if top or len(parts) == 1 else f"({joined})"


def intent(tree: Any, currency: str) -> str:
    group = rules.parse(tree)
    if not group.rules:
        return "All customers."
    return f"Customers who {_group_words(group, currency, True)}."


def summary(name: str, stats: dict[str, Any]) -> str:
    pct = lambda r: f"{r * 100:.1f}%"  # noqa: E731
    text = (
        f"Campaign \"{name}\" reached {stats['audience_size']:,} customers: {stats['sent']:,} messages delivered "
        f"and {stats['failed']:,} failed, a delivery rate of {pct(stats['delivery_rate'])}"
    )
    if stats.get("duration_seconds"):
        text += f" in {stats['duration_seconds']:.1f} seconds"
    text += "."
    bands = [s for s in stats["by_spend_band"] if s["total"]]
    if bands:
        best = max(bands, key=lambda s: (s["delivery_rate"], s["total"]))
        text += f" Customers with {best['label']} had the best delivery rate, {pct(best['delivery_rate'])}."
    cities = [s for s in stats["by_city"] if s["total"] and s["label"]]
    if len(cities) > 1:
        worst = min(cities, key=lambda s: (s["delivery_rate"], -s["total"]))
        text += f" {worst['label']} had the lowest rate among cities, {pct(worst['delivery_rate'])}."
    return text


_SUGGESTION_OPENERS = (
    "Hi {{name}}, {objective} — just for you in {{city}}.",
    "{{name}}, don't miss out: {objective}. Reply or visit us soon!",
    "Hello {{name}}! {Name} is here: {objective}. We'll send the details to {{email}}.",
)


def suggestions(name: str, objective: str) -> list[str]:
    """Three messages for the campaign, using only the allowed placeholders."""
    clean = " ".join(objective.replace("{", "").replace("}", "").split()).rstrip(".!") or "something new"
    title = " ".join(name.replace("{", "").replace("}", "").split()) or "Our campaign"
    objective_text = clean[0].lower() + clean[1:]
    return [t.replace("{objective}", objective_text).replace("{Name}", title) for t in _SUGGESTION_OPENERS]
