"""The OpenAPI 3 description of the edge (`GET /openapi.json`) and a browsable page (`GET /docs`)."""

from __future__ import annotations

import html
from functools import lru_cache
from typing import Any

import orjson
from aiohttp import web

from minicrm import campaign_states as states
from minicrm.edge.openapi_schemas import ARRAY_OF_OBJECTS, ERROR, OBJECT, PAGING, TOTAL, components
from minicrm.edge.responses import json_response


def _one_or_many(name: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{name}"}
    return {"oneOf": [ref, {"type": "array", "items": ref, "minItems": 1, "maxItems": 10000}]}


def _op(
    summary: str,
    body: dict | None = None,
    ok: int = 200,
    answer: dict | None = None,
    params: list | None = None,
    public: bool = False,
    headers: dict | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {
            str(ok): {
                "description": "success",
                **({} if ok == 204 else {"content": {"application/json": {"schema": answer or OBJECT}}}),
                **({"headers": headers} if headers else {}),
            },
            "default": {
                "description": "an error: 4xx for bad input, 401 without a session, 503 when Kafka or "
                "PostgreSQL is unreachable",
                "content": {"application/json": {"schema": ERROR}},
            },
        },
    }
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if params:
        op["parameters"] = params
    if public:
        op["security"] = []
    return op


def _stream(summary: str, media_type: str, params: list | None = None, public: bool = False) -> dict[str, Any]:
    """An operation whose answer is not JSON."""
    op = _op(summary, params=params, public=public)
    op["responses"]["200"]["content"] = {media_type: {"schema": {"type": "string"}}}
    return op


CAMPAIGN_ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}]
UUID_QUERY = lambda name: {"name": name, "in": "query", "schema": {"type": "string", "format": "uuid"}}  # noqa: E731


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    schemas = components()
    ref = lambda name: {"$ref": f"#/components/schemas/{name}"}  # noqa: E731
    CAMPAIGN = ref("Campaign")
    paths = {
        "/api/auth": {
            "post": _op(
                "Sign in with a Google ID token, a login key, or as the trusted frontend",
                {"oneOf": [ref("GoogleLogin"), ref("KeyLogin"), ref("TrustedLogin")]},
                answer={"type": "object", "properties": {"token": {"type": "string"}, "user": OBJECT}},
                public=True,
            ),
            "get": _op("The signed-in user"),
        },
        "/api/customers": {
            "post": _op("Create or update customers (upsert by email)", _one_or_many("CustomerIn"), 202)
        },
        "/api/customers/get": {
            "post": _op(
                "Customers matching a ruleGroup, paged",
                {"anyOf": [ref("RuleGroup"), {"type": "object", "maxProperties": 0}]},
                answer=ARRAY_OF_OBJECTS,
                params=PAGING,
                headers=TOTAL,
            )
        },
        "/api/orders": {
            "post": _op("Create or update orders", _one_or_many("OrderIn"), 202),
            "get": _op(
                "Orders, filtered and paged",
                answer=ARRAY_OF_OBJECTS,
                headers=TOTAL,
                params=PAGING
                + [
                    UUID_QUERY("customerId"),
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["PENDING", "COMPLETED", "CANCELLED", "REFUNDED"]},
                    },
                ],
            ),
        },
        "/api/campaigns": {
            "post": _op(
                "Create a campaign; it runs in the pipeline (with sendAt: SCHEDULED, started when due)",
                ref("CampaignIn"),
                201,
            )
        },
        "/api/campaigns/{id}": {
            "patch": _op(
                "Reschedule a SCHEDULED campaign (409 otherwise)",
                ref("RescheduleIn"),
                answer=CAMPAIGN,
                params=CAMPAIGN_ID,
            )
        },
        "/api/campaigns/{id}/pause": {
            "post": _op(
                "Pause: no further vendor calls within a second or two (409 unless started and not final)",
                answer=CAMPAIGN,
                params=CAMPAIGN_ID,
            )
        },
        "/api/campaigns/{id}/resume": {
            "post": _op(
                "Resume a PAUSED campaign where it stopped (409 otherwise)", answer=CAMPAIGN, params=CAMPAIGN_ID
            )
        },
        "/api/campaigns/{id}/cancel": {
            "post": _op(
                "Cancel: final; messages not yet sent become CANCELLED and are counted (409 once final)",
                answer=CAMPAIGN,
                params=CAMPAIGN_ID,
            )
        },
        "/api/campaigns/{id}/test": {
            "post": _op(
                "Send the personalised message to up to 10 customers (ids or emails), marked test, not counted",
                ref("TestSendIn"),
                202,
                params=CAMPAIGN_ID,
            )
        },
        "/api/campaigns/{id}/resend": {
            "post": _op(
                "A new campaign, linked to this final one, to its customers whose messages ended in `statuses`",
                ref("ResendIn"),
                201,
                params=CAMPAIGN_ID,
            )
        },
        "/api/suppressions": {
            "post": _op(
                "Opt customers out (by email or customerId) of every campaign", _one_or_many("SuppressionIn"), 201
            ),
            "get": _op("The opt-out list, newest first", answer=ARRAY_OF_OBJECTS, headers=TOTAL, params=PAGING),
        },
        "/api/suppressions/{email}": {
            "delete": {
                **_op("Take an email off the opt-out list", ok=204),
                "parameters": [{"name": "email", "in": "path", "required": True, "schema": {"type": "string"}}],
            }
        },
        "/api/campaigns/get": {
            "post": _op(
                "{} or {userId}: your campaigns; {campaignId}: one with metrics; {ruleGroup}: a preview",
                {
                    "type": "object",
                    "properties": {
                        "userId": {"type": "string"},
                        "campaignId": {"type": "string", "format": "uuid"},
                        "ruleGroup": ref("RuleGroup"),
                    },
                },
                answer={"oneOf": [OBJECT, ARRAY_OF_OBJECTS]},
                params=PAGING,
            )
        },
        "/api/logs": {
            "get": _op(
                "Communication log rows of your campaigns, filtered and paged",
                answer=ARRAY_OF_OBJECTS,
                headers=TOTAL,
                params=PAGING
                + [
                    UUID_QUERY("campaignId"),
                    UUID_QUERY("customerId"),
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string", "enum": list(states.MESSAGE_STATUSES)},
                    },
                ],
            )
        },
        "/api/receipts": {
            "post": _op(
                "Vendor delivery receipts, signed (Standard Webhooks)",
                {"type": "array", "items": ref("ReceiptIn"), "maxItems": 10000},
                201,
                public=True,
            )
        },
        "/api/dead-letters": {
            "get": _op(
                "Records the pipeline could not store, newest first: topic, key, payload (as it was on the topic), "
                "reason, created_at, replayed_at. Replay with `minicrm dead-letters replay`",
                answer=ARRAY_OF_OBJECTS,
                headers=TOTAL,
                params=PAGING
                + [
                    {
                        "name": "topic",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "e.g. orders (or the full topic name)",
                    },
                    {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                ],
            )
        },
        "/api/ai/campaign": {"post": _op("Three message suggestions", ref("CampaignIdea"))},
        "/api/ai/dynamic": {"post": _op("Plain words to a ruleGroup", ref("Query"))},
        "/api/campaigns/{id}/events": {
            "get": _stream(
                "The campaign's progress as Server-Sent Events: every second the campaign's read (without `timeline`, "
                "with `eta_seconds`) until it is final; the last event (`event: final`) is the final read. "
                "`Last-Event-ID` resumes the numbering",
                "text/event-stream",
                params=CAMPAIGN_ID
                + [{"name": "Last-Event-ID", "in": "header", "schema": {"type": "string", "pattern": "^[0-9]{0,12}$"}}],
            )
        },
        "/metrics": {"get": _stream("Prometheus metrics of this edge (text format)", "text/plain", public=True)},
        "/healthz": {"get": _op("The process is up", public=True)},
        "/readyz": {"get": _op("Kafka and PostgreSQL are reachable; dead letters not replayed", public=True)},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "MiniCRM core backend",
            "version": "0.1.0",
            "description": "Customers, orders, segments and campaigns; compatible with the original API.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {"session": {"type": "http", "scheme": "bearer"}}},
        "security": [{"session": []}],
    }


async def openapi_json(request: web.Request) -> web.Response:
    return json_response(spec())


async def docs(request: web.Request) -> web.Response:
    rows = []
    for path, methods in spec()["paths"].items():
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
