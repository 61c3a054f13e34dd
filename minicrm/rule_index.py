"""Which of many rule trees can match a customer, without evaluating every one.

A customer's change is evaluated against every live journey; at a hundred journeys and thousands
of changes a second that is too many evaluations (about 4.5 µs each). Most segments pin an
attribute by equality at their top (`city = Pune AND ...`, `visit = 3 AND ...`): such a tree can
match only customers with that value, so trees are filed under it and a customer is evaluated
against the trees filed under their own values and those filed under nothing. The key is the
value as the verdict compares it (a city lowered as PostgreSQL lowers it; a visit count through
`rules.integer_bound`), so filing never changes a verdict, only skips the trees that cannot match.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

from minicrm import rules, verdicts

K = TypeVar("K")
Key = tuple[str, str | int]


def _required(group: rules.Group) -> Iterator[Key]:
    """The equalities every customer matching `group` satisfies (its AND's rules, nested ANDs too)."""
    if group.combinator != "AND":
        return
    for node in group.rules:
        if isinstance(node, rules.Group):
            yield from _required(node)
        elif node.operator == "=" and node.attribute == "city":
            yield "city", verdicts.lower(str(node.value))
        elif node.operator == "=" and node.attribute == "visit":
            yield "visit", rules.integer_bound("=", node.number)[1]


def keys_of(facts: verdicts.Facts) -> list[Key]:
    """The keys a customer's trees may be filed under."""
    found: list[Key] = [("visit", facts.visit)]
    if facts.city is not None:
        found.append(("city", verdicts.lower(facts.city)))
    return found


class RuleIndex(Generic[K]):
    """Trees (each with its owner `K`) filed under one equality they require, if they have one;
    a city's first, being the most selective usually."""

    def __init__(self, trees: Iterable[tuple[K, rules.Group]]) -> None:
        self.filed: dict[Key, list[tuple[K, rules.Group]]] = {}
        self.unfiled: list[tuple[K, rules.Group]] = []
        for owner, group in trees:
            required = sorted(_required(group), key=lambda key: key[0] != "city")
            if required:
                self.filed.setdefault(required[0], []).append((owner, group))
            else:
                self.unfiled.append((owner, group))

    def candidates(self, facts: verdicts.Facts) -> list[tuple[K, rules.Group]]:
        """The trees that may match the customer: every other one cannot."""
        found = list(self.unfiled)
        for key in keys_of(facts):
            found.extend(self.filed.get(key, ()))
        return found
