"""The OpenAPI 3.1 description of the edge (`GET /openapi.json`) and a browsable page (`GET /docs`),
built from the route table: each route's method, path and role (`routes.ROUTES`), its handler's
`Operation` (`openapi_paths`), its path parameters from the path; the request bodies' schemas from
the pydantic models that validate them (`openapi_schemas`). Each operation says its role
(`x-minicrm-role`); an operator's answers 403 to a marketer. The console's page and files are not
API operations, and are left out."""

from __future__ import annotations

import html
import re
from functools import lru_cache
from typing import Any

import orjson
from aiohttp import web

from minicrm import roles
from minicrm.edge.openapi_operations import (
    OBJECT,
    PATH_PARAMETERS,
    Operation,
    paging,
    ref,
    responses,
)
from minicrm.edge.openapi_paths import OPERATIONS
from minicrm.edge.openapi_schemas import components
from minicrm.edge.responses import json_response
from minicrm.edge.state import SETTINGS
from minicrm.settings import Settings

PARAMETER = re.compile(r"\{(\w+)\}")
CONSOLE = "/console"


class Undescribed(LookupError):
    """A route whose handler has no `Operation` in `openapi_paths.OPERATIONS`."""


def _routes(router: web.UrlDispatcher) -> list[tuple[str, str, Operation]]:
    """(method, path, operation) of every route, in the table's order; a catch-all (`*`, a 405
    with Allow) is not an operation."""
    found = []
    for route in router.routes():
        path = route.resource.canonical if route.resource else ""
        if route.method in ("*", "HEAD") or path.startswith(CONSOLE):
            continue
        operation = OPERATIONS.get(route.handler) or DOCUMENT.get(route.handler)
        if operation is None:
            raise Undescribed(f"{route.method} {path}: add its handler's Operation to minicrm/edge/openapi_paths.py")
        found.append((route.method, path, operation))
    return found


def _body(op: Operation, settings: Settings) -> dict[str, Any] | None:
    if op.body is None or isinstance(op.body, dict):
        return op.body
    if isinstance(op.body, tuple):
        return {"anyOf": [ref(model.__name__) for model in op.body]}
    one = ref(op.body.__name__)
    many = {"type": "array", "items": one, "minItems": 1}
    limit = f"at most {settings.max_items} (413 past it)"
    if op.items == "many":
        return {**many, "description": limit}
    if op.items == "one or many":
        return {"oneOf": [one, many], "description": f"one, or an array of {limit}"}
    return one


def _models(operations: list[tuple[str, str, Operation]]) -> list[type]:
    models: list[type] = []
    for _, _, op in operations:
        bodies = op.body if isinstance(op.body, tuple) else (op.body,)
        models += [body for body in bodies if isinstance(body, type) and body not in models]
    return models


def _links(operations: list[tuple[str, str, Operation]]) -> dict[str, dict[str, Any]]:
    """Links from each operation with `id_at` to every operation on its collection's `/{id}` (or
    another path parameter) and to those that name its collection's ids: what a stateful fuzzer
    and a client generator follow."""
    links: dict[str, dict[str, Any]] = {}
    for _, path, op in operations:
        if op.id_at is None:
            continue
        collection = path.split("/{")[0]
        pointer = f"$response.body#{op.id_at}"
        links[op.id] = {
            other.id: {"operationId": other.id, "parameters": {PARAMETER.findall(other_path)[0]: pointer}}
            for _, other_path, other in operations
            if other_path.startswith(f"{collection}/{{")
        }
        for _, _, other in operations:
            for named, where in other.names:
                if named == collection:
                    place, name = where.split(".")
                    key = "requestBody" if place == "body" else "parameters"
                    link = {"operationId": other.id, key: {name: pointer}}
                    links[op.id][other.id] = link
    return links


def _operation(method: str, path: str, op: Operation, settings: Settings, links: dict[str, Any]) -> dict[str, Any]:
    from minicrm.edge.routes import role_of  # the routes import this module

    role = role_of(method, path)
    public = role == roles.PUBLIC
    answer = ref(op.answer) if isinstance(op.answer, str) else op.answer
    out: dict[str, Any] = {
        "operationId": op.id,
        "summary": op.summary,
        "x-minicrm-role": role,
        "responses": responses(op, public, answer, operator=role == roles.OPERATOR),
    }
    if links:
        out["responses"][str(op.ok)]["links"] = links
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": PATH_PARAMETERS[name]}
        for name in PARAMETER.findall(path)
    ]
    parameters += list(op.query)
    if op.paging:
        parameters.append(paging(settings, op.paging, [p["name"] for p in parameters if p["in"] == "query"]))
    if parameters:
        out["parameters"] = parameters
    if (body := _body(op, settings)) is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if op.signed:
        out["security"] = [{"webhookSignature": []}]
    elif public:
        out["security"] = []
    return out


@lru_cache(maxsize=4)
def spec(settings: Settings) -> dict[str, Any]:
    from minicrm.edge.routes import setup_routes  # the table this document describes

    app = web.Application()
    setup_routes(app)
    operations = _routes(app.router)
    links = _links(operations)
    paths: dict[str, dict[str, Any]] = {}
    for method, path, op in operations:
        paths.setdefault(path, {})[method.lower()] = _operation(method, path, op, settings, links.get(op.id, {}))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "MiniCRM core backend",
            "version": "0.1.0",
            "description": "Customers, orders, segments and campaigns; compatible with the original API. Text "
            "is stripped of surrounding whitespace; no string may hold a NUL; unknown fields are ignored.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": components(_models(operations)),
        "security": [{"session": []}],
    }


async def openapi_json(request: web.Request) -> web.Response:
    return json_response(spec(request.app[SETTINGS]))


async def docs(request: web.Request) -> web.Response:
    rows = []
    for path, methods in spec(request.app[SETTINGS])["paths"].items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            rows.append(
                f"<h3><code>{method.upper()} {html.escape(path)}</code></h3><p>{html.escape(op['summary'])}"
                f"{' (no session needed)' if op.get('security') == [] else ''}</p>"
                + (f"<pre>{html.escape(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode())}</pre>" if body else "")
            )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>MiniCRM API</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}pre{background:#f4f4f4;padding:1em}</style>"
        "</head><body><h1>MiniCRM API</h1><p>The machine-readable description is at "
        "<a href='/openapi.json'>/openapi.json</a>. Sign in with <code>POST /api/auth</code> and send "
        "<code>Authorization: Bearer &lt;token&gt;</code>.</p>" + "".join(rows) + "</body></html>"
    )
    return web.Response(text=page, content_type="text/html")


DOCUMENT: dict[Any, Operation] = {
    openapi_json: Operation("openapi", "This document", answer=OBJECT),
    docs: Operation("docs", "This document as a page", answer={"type": "string"}, media_type="text/html"),
}
