"""The one AI interface the edge and the pipeline call.

Gemini answers when a key is configured; any error, timeout, quota error or malformed
answer falls back to the local provider (and is logged), so AI never blocks or fails a
request or the pipeline. Model output is untrusted: a rule group passes the same
validation as a user's, and suggestions may use only the allowed placeholders.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from minicrm import rules, templating
from minicrm.ai import local, phrases
from minicrm.settings import Settings

if TYPE_CHECKING:
    from minicrm.ai.gemini import GeminiProvider

log = logging.getLogger(__name__)
T = TypeVar("T")


class NotUnderstood(ValueError):
    """Neither provider could turn the words into rules."""


def _text(limit: int) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            raise ValueError(f"expected a non-empty text of at most {limit} characters")
        return value.strip()

    return check


def check_suggestions(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) != 3 or not all(isinstance(s, str) and s.strip() for s in value):
        raise ValueError("expected three messages")
    for message in value:
        templating.parse(message)  # TemplateError for any other placeholder
    return [s.strip() for s in value]


def finalize_rule_group(tree: Any) -> dict[str, Any]:
    """Validates a rule group and shapes it as the original frontend expects: unique ids,
    upper-case combinators, simple rules before nested groups."""
    group = rules.parse(tree)
    if not group.rules:
        raise ValueError("the rule group selects everyone; nothing was understood")
    counter = {"rule": 0, "group": 0}

    def shape(node: rules.Group | rules.Rule, root: bool = False) -> dict[str, Any]:
        if isinstance(node, rules.Rule):
            counter["rule"] += 1
            shaped: dict[str, Any] = {
                "id": f"rule-{counter['rule']}",
                "attribute": node.attribute,
                "operator": node.operator,
                "value": node.value if isinstance(node.value, str) else f"{node.value.normalize():f}",
            }
            return shaped if node.days is None else shaped | {"days": node.days}
        counter["group"] += 1
        group_id = "group-root" if root else f"group-{counter['group']}"
        simple = [shape(r) for r in node.rules if isinstance(r, rules.Rule)]
        nested = [shape(r) for r in node.rules if isinstance(r, rules.Group)]
        return {"id": group_id, "combinator": node.combinator, "rules": simple + nested}

    return shape(group, root=True)


class AI:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.remote: GeminiProvider | None = None
        if settings.gemini_api_key:
            from minicrm.ai.gemini import GeminiProvider

            self.remote = GeminiProvider(settings)

    async def _ask(
        self,
        what: str,
        remote: Callable[[GeminiProvider], Awaitable[Any]],
        check: Callable[[Any], T],
        fallback: Callable[[], T],
    ) -> T:
        if self.remote is not None:
            try:
                return check(await asyncio.wait_for(remote(self.remote), self.settings.ai_timeout))
            except Exception as exc:  # noqa: BLE001 - any failure of the model falls back; AI never fails a request
                log.warning("AI %s: Gemini failed (%s: %s); using the local provider", what, type(exc).__name__, exc)
        return fallback()

    async def intent(self, tree: Any) -> str:
        return await self._ask(
            "intent", lambda gemini: gemini.intent(tree), _text(500), lambda: local.intent(tree, self.settings.currency)
        )

    async def summary(self, name: str, stats: dict[str, Any]) -> str:
        return await self._ask(
            "summary",
            lambda gemini: gemini.summary(name, stats),
            _text(2000),
            lambda: local.summary(name, stats, self.settings.currency),
        )

    async def suggestions(self, name: str, objective: str) -> list[str]:
        return await self._ask(
            "suggestions",
            lambda gemini: gemini.suggestions(name, objective),
            check_suggestions,
            lambda: local.suggestions(name, objective),
        )

    async def rule_group(self, query: str) -> dict[str, Any]:
        def offline() -> dict[str, Any]:
            tree = phrases.rule_group(query)
            if tree is None:
                raise NotUnderstood(f"could not turn {query!r} into rules; try e.g. 'spent over 5000 in Mumbai'")
            return finalize_rule_group(tree)

        return await self._ask("rule group", lambda gemini: gemini.rule_group(query), finalize_rule_group, offline)
