"""Which of many rule trees can match a customer, without evaluating every one.

A customer's change is evaluated against every live journey; at a hundred journeys and thousands
of changes a second that is too many evaluations (about 4.5 µs each). Most segments pin
attributes by equality at their top (`city = Pune AND visit = 3 AND ...`): such a tree can match
only customers with those values, so trees are filed under the set of equalities they require,
and a customer is evaluated against the trees filed under a subset of their own values (the empty
set included: trees that require none). A value is keyed as the verdict compares it (a city
lowered as PostgreSQL lowers it; a visit count through `rules.integer_bound`), so filing never
changes a verdict, only skips the trees that cannot match.
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
    """The equalities a customer satisfies, of those trees are filed by."""
    found: list[Key] = [("visit", facts.visit)]
    if facts.city is not None:
        found.append(("city", verdicts.lower(facts.city)))
    return found


def subsets(keys: list[Key]) -> list[frozenset[Key]]:
    return [frozenset(k for i, k in enumerate(keys) if mask >> i & 1) for mask in range(1 << len(keys))]


class RuleIndex(Generic[K]):
    """Trees (each with its owner `K`) filed under the equalities they require."""

    def __init__(self, trees: Iterable[tuple[K, rules.Group]]) -> None:
        self.filed: dict[frozenset[Key], list[tuple[K, rules.Group]]] = {}
        for owner, group in trees:
            self.filed.setdefault(frozenset(_required(group)), []).append((owner, group))

    def candidates(self, facts: verdicts.Facts) -> list[tuple[K, rules.Group]]:
        """The trees that may match the customer: every other one cannot."""
        return [tree for keys in subsets(keys_of(facts)) for tree in self.filed.get(keys, ())]
