"""Reading request bodies and query strings, with the limits that keep the edge safe."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

import orjson
from aiohttp import web
from pydantic import BaseModel, TypeAdapter, ValidationError

from minicrm import rules
from minicrm.edge.errors import InvalidInput, PayloadTooLarge
from minicrm.edge.schemas import PATTERN_PROBLEMS
from minicrm.settings import Settings

Model = TypeVar("Model", bound=BaseModel)
T = TypeVar("T")
MAX_OFFSET = 10_000_000
NUL_MESSAGE = "text holds a NUL character (\\u0000), which cannot be stored"


async def read_json(request: web.Request) -> Any:
    return parse_json(await request.read())  # aiohttp enforces client_max_size: 413 past it


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        raise InvalidInput("request body is empty; expected JSON")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"malformed JSON: {exc}") from None
    if b"\\u0000" in raw and (where := nul_path(data, ())) is not None:
        problem = {"field": _field(where), "message": NUL_MESSAGE}
        if isinstance(data, list):
            problem = {"item": where[0], **problem, "field": _field(where[1:])}
        raise InvalidInput([problem])
    return data


def nul_path(value: Any, path: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """Where the first NUL character sits in a JSON value (in a string or a key), if anywhere.
    PostgreSQL stores every other character, so this is the one the edge must refuse for it."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                return (*path, key)
            if (found := nul_path(item, (*path, key))) is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            if (found := nul_path(item, (*path, index))) is not None:
                return found
    return None


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(body)"


def validate_one(model: type[Model], data: Any) -> Model:
    if not isinstance(data, dict):
        raise InvalidInput("expected a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput([{"field": _field(e["loc"]), "message": _message(e)} for e in exc.errors()]) from None


@functools.cache
def adapters(item: type[T]) -> tuple[TypeAdapter[T], TypeAdapter[list[T]]]:
    return TypeAdapter(item), TypeAdapter(list[item])  # type: ignore[valid-type]


def validate_items(item: type[T], raw: bytes, max_items: int, one: bool = True) -> list[T]:
    """A body of one item (if `one`) or an array of them, checked straight from its bytes in one
    call into pydantic (no Python value of the JSON is made first), every item before any is
    accepted; each problem names item and field."""
    if not raw.strip():
        raise InvalidInput("request body is empty; expected JSON")
    if b"\\u0000" in raw:
        parse_json(raw)  # refuses a NUL character, saying where
    single, array = adapters(item)  # type: ignore[arg-type]  # a class is hashable; mypy cannot see it of type[T]
    is_one = one and not raw.lstrip().startswith(b"[")
    try:
        values = [single.validate_json(raw)] if is_one else array.validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors()
        if errors[0]["type"] == "json_invalid":
            raise InvalidInput(f"malformed JSON: {errors[0]['msg']}") from None
        if not is_one and not errors[0]["loc"]:
            raise InvalidInput("expected a JSON array") from None
        raise InvalidInput([_item_problem((0, *e["loc"]) if is_one else e["loc"], e) for e in errors]) from None
    if not values:
        raise InvalidInput("expected an object or a non-empty array of objects")
    if len(values) > max_items:
        raise PayloadTooLarge(f"array has {len(values)} items; at most {max_items} are accepted per request")
    return values


def _item_problem(loc: tuple[Any, ...], error: Any) -> dict[str, Any]:
    if len(loc) == 1 and error["type"] in ("model_type", "dict_type"):
        return {"item": loc[0], "field": "(item)", "message": "expected a JSON object"}
    return {"item": loc[0], "field": _field(loc[1:]), "message": _message(error)}


def _message(error: Any) -> str:
    """Pydantic's message, but for a pattern: what the value failing it is told."""
    if error["type"] == "string_pattern_mismatch":
        return PATTERN_PROBLEMS.get(error["ctx"]["pattern"], error["msg"])
    return error["msg"]


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int = 0
    unpaged: bool = False  # every match, up to `limit` (the cap)
    cursor: str | None = None  # after this position (`X-Next-Cursor` of the page before)


PAGING = ("limit", "offset", "page", "pageSize", "cursor")


def page(request: web.Request, settings: Settings, unpaged: bool = True) -> Page:
    """The page asked for by `?limit=&offset=` (also `page` and `pageSize`, 1-based) or by
    `?limit=&cursor=`. With none of them, and `unpaged` allowed: every match up to the unpaged
    cap, as the original API answered."""
    query = request.query
    if unpaged and not any(name in query for name in PAGING):
        return Page(settings.unpaged_cap, 0, unpaged=True)
    cursor = query.get("cursor")
    if cursor is not None and ("offset" in query or "page" in query):
        raise InvalidInput([{"field": "cursor", "message": "a cursor is a position of its own: drop offset and page"}])
    try:
        limit = int(query.get("limit") or query.get("pageSize") or settings.page_size)
        offset = int(query["offset"]) if "offset" in query else (int(query.get("page", 1)) - 1) * limit
    except ValueError:
        raise InvalidInput("limit, offset, page and pageSize must be whole numbers") from None
    if not 1 <= limit <= settings.max_page_size:
        raise InvalidInput(f"page size must be between 1 and {settings.max_page_size}")
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput(f"offset must be between 0 and {MAX_OFFSET:,}; page by cursor instead")
    return Page(limit, offset, cursor=cursor)


def query_text(request: web.Request, name: str) -> str | None:
    """A free-text query parameter; one holding a NUL (which PostgreSQL cannot take) is refused."""
    value = request.query.get(name)
    if value is not None and "\x00" in value:
        raise InvalidInput([{"field": name, "message": NUL_MESSAGE}])
    return value


def filters(
    request: web.Request, *, uuids: dict[str, str], choices: dict[str, tuple[str, tuple[str, ...]]]
) -> tuple[str, list[Any]]:
    """A WHERE condition from query parameters: `uuids` maps a parameter to its column,
    `choices` maps one to its column and allowed values. Values are bind parameters."""
    conditions: list[str] = []
    params: list[Any] = []
    for name, column in uuids.items():
        if value := request.query.get(name):
            try:
                params.append(UUID(value))
            except ValueError:
                raise InvalidInput(f"{name} must be a UUID") from None
            conditions.append(f"{column} = ${len(params)}")
    for name, (column, allowed) in choices.items():
        if value := request.query.get(name):
            if value not in allowed:
                raise InvalidInput(f"{name} must be one of {', '.join(allowed)}")
            params.append(value)
            conditions.append(f"{column} = ${len(params)}")
    return " AND ".join(conditions) or "TRUE", params


def segment_condition(tree: Any) -> tuple[str, list[Any]]:
    """A ruleGroup compiled to a condition over customers `c`; 400 naming the rule otherwise."""
    try:
        return rules.compile_tree(tree)
    except rules.RuleError as exc:
        raise InvalidInput({"rule": exc.path, "message": exc.message}) from None
