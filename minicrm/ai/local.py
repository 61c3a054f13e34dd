"""The local provider: no network, deterministic, useful answers from the data itself."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from minicrm import rules
from minicrm.ai.summary_text import money, summary

__all__ = ["intent", "suggestions", "summary"]  # the local provider, whose summary has a module of its own

OPERATOR_WORDS = {
    ">": "more than",
    "<": "less than",
    "=": "exactly",
    ">=": "at least",
    "<=": "at most",
    "!=": "other than",
}


def _count(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _rule_words(rule: rules.Rule, currency: str) -> str:
    op = rule.operator
    if rule.attribute == "total_spend":
        return f"spent {OPERATOR_WORDS[op]} {money(rule.number, currency)}"
    if rule.attribute == "visit":
        return f"visited {OPERATOR_WORDS[op]} {_count(rule.number)} times"
    if rule.attribute == "city":
        return f"live in {rule.value}" if op == "=" else f"do not live in {rule.value}"
    if rule.days is not None:
        window = f"in the last {rule.days} day{'s' if rule.days != 1 else ''}"
        if rule.attribute == "spend_within":
            return f"spent {OPERATOR_WORDS[op]} {money(rule.number, currency)} {window}"
        times = "time" if rule.number == 1 else "times"
        return f"ordered {OPERATOR_WORDS[op]} {_count(rule.number)} {times} {window}"
    days = _count(rule.number)
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


# Message drafts by theme, read by customers: an offer, a reason to act now, a personal touch.
# {title} is the campaign's name, {cue} the theme's word that matched (a festival's name),
# {offer} an offer named in the brief or a generic one; the brief itself is never pasted.
THEMES: dict[str, tuple[tuple[str, ...], tuple[str, str, str]]] = {
    "win_back": (
        (
            "win back",
            "winback",
            "lapsed",
            "inactive",
            "dormant",
            "churn",
            "re-engage",
            "reengage",
            "come back",
            "stopped",
            "missed",
            "haven't ordered",
            "not ordered",
            "return",
        ),
        (
            "Hi {{name}}, we've missed you! Come back this week for {offer} on your next order.",
            "{{name}}, it's been a while. Your favourites are waiting in {{city}}, and so is {offer}. Ends Sunday!",
            "We saved something for you, {{name}}: {offer}, only until the weekend. See you soon!",
        ),
    ),
    "festival": (
        (
            "diwali",
            "christmas",
            "holi",
            "eid",
            "festive",
            "festival",
            "new year",
            "pongal",
            "onam",
            "navratri",
            "holiday",
            "season",
        ),
        (
            "Happy {cue}, {{name}}! Celebrate with {offer}, for a few days only.",
            "{{name}}, make this {cue} special: {offer} on gifts for everyone you love in {{city}}.",
            "The {cue} countdown is on, {{name}}! Shop early and enjoy {offer} before it's gone.",
        ),
    ),
    "sale": (
        ("sale", "discount", "% off", "offer", "deal", "clearance", "promo", "coupon", "cashback", "flash"),
        (
            "{{name}}, the {title} is on! Enjoy {offer} for the next 48 hours only.",
            "Hi {{name}}, {offer} is waiting for you in the {title}. Shop before it ends!",
            "Good news, {{name}}: the {title} starts today in {{city}}, with {offer}. Don't miss it!",
        ),
    ),
    "welcome": (
        ("welcome", "first order", "first purchase", "onboard", "sign up", "signup", "new customer", "joined"),
        (
            "Welcome, {{name}}! Here's {offer} on your first order with us.",
            "{{name}}, we're so glad you're here. Start with {offer}, valid this week.",
            "Hi {{name}}, thanks for joining us! Your welcome gift: {offer}.",
        ),
    ),
    "launch": (
        ("new", "launch", "arrival", "collection", "introduc", "latest", "just in", "release"),
        (
            "{{name}}, something new just arrived! Be among the first to see {title}, with {offer} this week.",
            "Hi {{name}}, {title} is here. Take a first look, and {offer} on your first pick.",
            "Fresh in {{city}}, {{name}}: {title}. Early shoppers get {offer}!",
        ),
    ),
    "loyalty": (
        ("loyal", "vip", "high spend", "top customer", "best customer", "reward", "premium", "thank", "members"),
        (
            "{{name}}, thank you for being one of our best customers. Here's {offer}, just for you.",
            "You're on our VIP list, {{name}}! Enjoy early access to {title} and {offer}.",
            "A small thank-you, {{name}}: {offer} on your next visit. We appreciate you!",
        ),
    ),
}
GENERIC = (
    "Hi {{name}}, {title} is on, with {offer} just for you. Don't wait too long!",
    "{{name}}, here's something for you in {{city}}: {title}, with {offer} this week only.",
    "Good news, {{name}}! {title}: {offer} is waiting for you. Reply or visit us soon.",
)
PERCENT = re.compile(r"(\d{1,2})\s?%")


def _words(text: str) -> str:
    return " ".join(text.replace("{", " ").replace("}", " ").split())


def theme(name: str, objective: str) -> tuple[str, str] | None:
    """The first theme whose cue words appear in the campaign's name or brief, and the cue."""
    text = f" {name} {objective} ".lower()
    return next(((key, cue) for key, (cues, _) in THEMES.items() for cue in cues if cue in text), None)


def suggestions(name: str, objective: str) -> list[str]:
    """Three messages a customer would read, on the campaign's theme, with only the allowed
    placeholders. A percentage named in the brief becomes the offer; nothing else of the
    brief (written for the marketer, not the customer) reaches the message."""
    title = _words(name) or "our new offers"
    percent = PERCENT.search(objective)
    offer = f"{percent.group(1)}% off" if percent else "a special offer"
    found = theme(name, objective)
    drafts = THEMES[found[0]][1] if found else GENERIC
    cue = found[1].title() if found else title
    return [d.replace("{title}", title).replace("{cue}", cue).replace("{offer}", offer) for d in drafts]
