"""Message templates: `{{name}}`, `{{email}}`, `{{city}}`, `{{phone}}` and nothing else."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PLACEHOLDERS = ("name", "email", "city", "phone")
COLUMNS = {"name": "c.name", "email": "c.email", "city": "c.city", "phone": "c.phone"}
_TOKEN = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


class TemplateError(ValueError):
    """The message uses a placeholder outside the allowed list."""


def parse(message: str) -> list[str | tuple[str]]:
    """Splits a message into literal strings and 1-tuples naming a placeholder."""
    parts: list[str | tuple[str]] = []
    position = 0
    for match in _TOKEN.finditer(message):
        name = match.group(1).lower()
        if name not in PLACEHOLDERS:
            raise TemplateError(
                f"unknown placeholder {match.group(0)!r}; use only " + ", ".join(f"{{{{{p}}}}}" for p in PLACEHOLDERS)
            )
        if match.start() > position:
            parts.append(message[position : match.start()])
        parts.append((name,))
        position = match.end()
    if position < len(message):
        parts.append(message[position:])
    return parts


def render(message: str, customer: Mapping[str, Any]) -> str:
    return "".join(part if isinstance(part, str) else str(customer.get(part[0]) or "") for part in parse(message))


def sql_expression(message: str, first_param: int) -> tuple[str, list[str]]:
    """The same rendering as `render`, as a SQL expression over customers `c`."""
    pieces: list[str] = []
    params: list[str] = []
    for part in parse(message):
        if isinstance(part, str):
            params.append(part)
            pieces.append(f"${first_param + len(params) - 1}::text")
        else:
            pieces.append(f"coalesce({COLUMNS[part[0]]}, '')")
    return ("concat(" + ", ".join(pieces) + ")" if pieces else "''"), params
