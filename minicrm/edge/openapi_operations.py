"""What an operation of the OpenAPI document says, and the parameters and headers operations share.

An `Operation` holds what the route table cannot tell: its id, summary, body (a pydantic model or
a schema), answer, query parameters and the 4xx it answers. Method and path come from the route
table, path parameters from the path, and the security from the route's role (`routes.ROUTES`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from minicrm.edge.input_schemas import NO_NUL, REF
from minicrm.edge.listing import SortOrder
from minicrm.edge.requests import MAX_OFFSET
from minicrm.settings import Settings

OBJECT = {"type": "object"}
ARRAY_OF_OBJECTS = {"type": "array", "items": OBJECT}
UUID = {"type": "string", "format": "uuid"}
# Path parameters by name: a route's `{id}` is a UUID unless its operation says otherwise.
PATH_PARAMETERS: dict[str, dict[str, Any]] = {"id": UUID, "email": NO_NUL}
# What each status means wherever an operation answers it; each answers the error body.
ERRORS = {
    400: "the request is invalid: `detail` names each item and field",
    401: "no valid session (or, for receipts, no valid signature)",
    403: "an operator's operation, and the session's user is a marketer",
    404: "no such campaign of yours (or nothing to remove)",
    409: "the move is not allowed now (`detail` says why), or the id belongs to another",
    413: "the body is larger than MINICRM_MAX_BODY_BYTES, or holds more than MINICRM_MAX_ITEMS items",
    422: "the words could not be turned into rules",
    429: "too many sign-in attempts from this address",
    503: "Kafka or PostgreSQL is unreachable; retry after `Retry-After`",
}
KEY_SCHEMAS = {
    "timestamptz": {"type": "string", "format": "date-time"},
    "uuid": UUID,
    "text": {"type": "string"},
    "bigint": {"type": "string", "pattern": "^-?[0-9]{1,19}$"},
}
TOTAL = {
    "X-Total-Count": {
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
        "description": "rows matching, over all pages: exact up to MINICRM_EXACT_COUNT_CAP (or a campaign's "
        "counters), else PostgreSQL's estimate",
    },
    "X-Total-Count-Estimated": {
        "schema": {"type": "string", "enum": ["true"]},
        "description": "present when X-Total-Count is an estimate",
    },
    "X-Next-Cursor": {"schema": {"type": "string"}, "description": "on a full page: `cursor` for the next"},
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


@dataclass(frozen=True)
class Operation:
    """One operation. `body`: a model class (its schema becomes a component of its name), a tuple
    of them (any one of them), or a schema; `items`: the model alone, it or a non-empty array of
    it, or the array alone (more than MINICRM_MAX_ITEMS is a 413). `answer`: the success body's schema
    (a component's name or a schema). `id_at`: a JSON pointer in the answer to the id of what it
    made or changed: the document links it to every operation of `{path}/{id}` (`path`: of this
    operation, before its own first path parameter; `{id}`: any path parameter) and to those that
    name the collection's ids (`names`). `names`: (the collection
    path, how a link supplies it: `query.campaignId`, `body.campaignId`)."""

    id: str
    summary: str
    body: type | tuple[type, ...] | dict[str, Any] | None = None
    items: Literal["one", "one or many", "many"] = "one"
    ok: int = 200
    answer: str | dict[str, Any] | None = None
    media_type: str = "application/json"
    query: tuple[dict[str, Any], ...] = ()
    paging: SortOrder | None = None  # the list's order: `limit` with `offset` or `cursor`; TOTAL's headers
    errors: tuple[int, ...] = ()
    signed: bool = False  # public, but signed as a webhook (receipts)
    id_at: str | None = None
    names: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def cursor(order: SortOrder) -> dict[str, Any]:
    """A list's cursor as `SortOrder.cursor` writes it: base64url (unpadded) of a JSON array of the
    row's sort keys. Only a cursor the list answered (`X-Next-Cursor`) is one: others are a 400."""
    return {
        "type": "string",
        "pattern": "^[A-Za-z0-9_-]+$",
        "contentEncoding": "base64url",
        "contentMediaType": "application/json",
        "contentSchema": {
            "type": "array",
            "prefixItems": [KEY_SCHEMAS[kind] for _, kind in order.keys],
            "items": False,
            "minItems": len(order.keys),
        },
        "description": "the page after this position: a page's `X-Next-Cursor`; not with `offset`",
    }


def paging(settings: Settings, order: SortOrder, others: list[str]) -> dict[str, Any]:
    """`limit` with `offset` or `cursor` (not both), as `requests.page` reads them, in one exploded
    object parameter so that the schema can say so. Other query parameters are ignored, but for the
    operation's `others` and `page` and `pageSize` (read for old clients, 1-based)."""
    return {
        "name": "paging",
        "in": "query",
        "style": "form",
        "explode": True,
        "schema": {
            "type": "object",
            "properties": {
                "limit": {"type": "integer", "minimum": 1, "maximum": settings.max_page_size},
                "offset": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
                "cursor": cursor(order),
                "count": {
                    "type": "string",
                    "description": "`exact`: X-Total-Count exact whatever it costs (else estimated past "
                    "MINICRM_EXACT_COUNT_CAP); other values are ignored",
                },
            },
            "not": {"required": ["offset", "cursor"]},
            "propertyNames": {"not": {"enum": [*others, "page", "pageSize"]}},
        },
        "description": "none of them: every match (up to MINICRM_UNPAGED_CAP) where the list allows it",
    }


def query(name: str, schema: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    parameter = {"name": name, "in": "query", "schema": schema}
    return parameter | ({"description": description} if description else {})


def uuid_filter(name: str, description: str = "empty: no filter") -> dict[str, Any]:
    return query(name, {"anyOf": [UUID, {"const": ""}]}, description)


def choice(name: str, values: tuple[str, ...]) -> dict[str, Any]:
    return query(name, {"type": "string", "enum": ["", *values]}, "empty: no filter")


def responses(op: Operation, public: bool, schema: dict[str, Any] | None, operator: bool = False) -> dict[str, Any]:
    """The success answer (with TOTAL's headers if paged) and every error the operation can answer:
    its own `errors`, 401 unless public (or signed), 403 for an operator's, 400 if paged, 400 and
    413 with a body, 503 always; each with the error body."""
    statuses = set(op.errors) | {503} | ({403} if operator else set())
    if not public or op.signed:
        statuses.add(401)
    if op.body is not None:
        statuses |= {400, 413}
    if op.paging:
        statuses.add(400)  # a limit, offset or cursor out of bounds
    success: dict[str, Any] = {"description": "success"}
    if op.ok != 204:
        success["content"] = {op.media_type: {"schema": schema or OBJECT}}
    if op.paging:
        success["headers"] = TOTAL
    errors = {
        str(status): {"description": ERRORS[status], "content": {"application/json": {"schema": ref("Error")}}}
        for status in sorted(statuses)
    }
    return {str(op.ok): success, **errors}
