"""The OpenAPI 3.1 description of the edge (`GET /openapi.json`) and a browsable page (`GET /docs`).

Request bodies come from the pydantic models that validate them (`input_schemas`); paging, filters
and cursors from the code that reads them (`requests.page`, each list's `SortOrder`). Every 4xx an
operation can answer is declared with the error body; `POST /api/campaigns` links to every
operation that takes the campaign's id."""

from __future__ import annotations

import html
from functools import lru_cache
from typing import Any

import orjson
from aiohttp import web

from minicrm import campaign_states as states
from minicrm.edge import campaigns, customers, dead_letters, input_schemas, logs, orders, suppressions
from minicrm.edge.ai import CampaignIdea, Query
from minicrm.edge.auth import GoogleLogin, KeyLogin, TrustedLogin
from minicrm.edge.listing import SortOrder
from minicrm.edge.requests import MAX_OFFSET
from minicrm.edge.responses import json_response
from minicrm.edge.schemas import (
    CampaignIn,
    CustomerIn,
    OrderIn,
    ReceiptIn,
    RescheduleIn,
    ResendIn,
    SuppressionIn,
    TestSendIn,
)
from minicrm.edge.state import SETTINGS
from minicrm.order_effects import ORDER_STATUSES
from minicrm.settings import Settings

MODELS = (
    CustomerIn,
    OrderIn,
    CampaignIn,
    ReceiptIn,
    CampaignIdea,
    Query,
    GoogleLogin,
    KeyLogin,
    TrustedLogin,
    RescheduleIn,
    TestSendIn,
    ResendIn,
    SuppressionIn,
)
OBJECT = {"type": "object"}
ARRAY_OF_OBJECTS = {"type": "array", "items": OBJECT}
UUID = {"type": "string", "format": "uuid"}
# What each status means wherever an operation answers it; each answers the error body.
ERRORS = {
    400: "the request is invalid: `detail` names each item and field",
    401: "no valid session (or, for receipts, no valid signature)",
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


def ref(name: str) -> dict[str, str]:
    return {"$ref": input_schemas.REF.format(model=name)}


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


def paging(settings: Settings, order: SortOrder, always: bool = True) -> dict[str, Any]:
    """`limit` with `offset` or with `cursor` (not both), as `requests.page` reads them; one object
    parameter, so that the two ways cannot be mixed (`page` and `pageSize` are read too, for old
    clients). Not `always`: read for some bodies only, so the rule is the description's."""
    parameter: dict[str, Any] = {
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
        },
        "description": "none of them: every match (up to MINICRM_UNPAGED_CAP) where the list allows it",
    }
    if not always:
        del parameter["schema"]["not"]
        parameter["description"] += "; read for a list only, which takes `cursor` or `offset`, not both"
    return parameter


def query(name: str, schema: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    parameter = {"name": name, "in": "query", "schema": schema}
    return parameter | ({"description": description} if description else {})


def uuid_filter(name: str) -> dict[str, Any]:
    return query(name, {"anyOf": [UUID, {"const": ""}]}, "empty: no filter")


def choice(name: str, values: tuple[str, ...]) -> dict[str, Any]:
    return query(name, {"type": "string", "enum": ["", *values]}, "empty: no filter")


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
CAMPAIGN_ID = {"name": "id", "in": "path", "required": True, "schema": UUID}


def _op(
    op_id: str,
    summary: str,
    body: dict | None = None,
    ok: int = 200,
    answer: dict | None = None,
    params: list | None = None,
    errors: tuple[int, ...] = (),
    security: list | None = None,
    headers: dict | None = None,
    links: dict | None = None,
    media_type: str = "application/json",
) -> dict[str, Any]:
    """An operation: `errors` are the 4xx it answers besides 401 (signed-in operations) and 400
    and 413 (operations with a body); every one may answer 503."""
    statuses = set(errors) | {503}
    if security != []:
        statuses.add(401)
    if body is not None:
        statuses |= {400, 413}
    success: dict[str, Any] = {"description": "success"}
    if ok != 204:
        success["content"] = {media_type: {"schema": answer or OBJECT}}
    if headers:
        success["headers"] = headers
    if links:
        success["links"] = links
    op: dict[str, Any] = {
        "operationId": op_id,
        "summary": summary,
        "responses": {
            str(ok): success,
            **{
                str(status): {"description": ERRORS[status], "content": {"application/json": {"schema": ref("Error")}}}
                for status in sorted(statuses)
            },
        },
    }
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if params:
        op["parameters"] = params
    if security is not None:
        op["security"] = security
    return op


def _one_or_many(name: str, settings: Settings) -> dict[str, Any]:
    """One item or an array of them; more than MINICRM_MAX_ITEMS is a 413 (a size, like the body's), not a 400."""
    return {
        "oneOf": [ref(name), {"type": "array", "items": ref(name), "minItems": 1}],
        "description": f"one, or an array of at most {settings.max_items} (413 past it)",
    }


CAMPAIGN_OPERATIONS = {
    "pauseCampaign": "pause",
    "resumeCampaign": "resume",
    "cancelCampaign": "cancel",
    "rescheduleCampaign": "reschedule",
    "testSendCampaign": "test send",
    "resendCampaign": "resend",
    "campaignEvents": "follow its progress",
    "listLogs": "read its log",
}


def campaign_links(pointer: str) -> dict[str, Any]:
    """Links from an answer holding a campaign's id (at `pointer`) to every operation that takes it."""
    links: dict[str, Any] = {
        op_id: {
            "operationId": op_id,
            "parameters": {"campaignId" if op_id == "listLogs" else "id": f"$response.body#{pointer}"},
            "description": f"{what} the campaign",
        }
        for op_id, what in CAMPAIGN_OPERATIONS.items()
    }
    links["getCampaign"] = {
        "operationId": "getCampaigns",
        "requestBody": {"campaignId": f"$response.body#{pointer}"},
        "description": "read the campaign, with its counters",
    }
    return links


def components(settings: Settings) -> dict[str, Any]:
    schemas: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["error", "detail"],
            "properties": {"error": {"type": "string"}, "detail": {}},
        },
        **input_schemas.json_without_nul(),
        **input_schemas.rule_schemas(),
        "CampaignStatus": {
            "type": "string",
            "enum": list(states.STATUSES),
            "description": "COMPLETED, FAILED and CANCELLED are final; PAUSED says `paused_by` (user or vendor) "
            "and `pause_reason`",
        },
        "Campaign": {
            "type": "object",
            "required": ["id", "status"],
            "properties": {
                "id": UUID,
                "status": ref("CampaignStatus"),
                "paused_by": {"enum": [states.USER, states.VENDOR, None]},
                "pause_reason": {"type": ["string", "null"]},
                **{
                    name: {"type": ["integer", "null"]}
                    for name in (
                        "audience_size",
                        "pending_count",
                        "sent_count",
                        "failed_count",
                        "cancelled_count",
                        "suppressed_count",
                        "capped_count",
                    )
                },
            },
        },
        "CampaignCreated": {
            "type": "object",
            "required": ["campaignId", "status"],
            "properties": {"campaignId": UUID, "status": ref("CampaignStatus"), "audience_size": {"type": "integer"}},
        },
    }
    for cls in MODELS:
        schema, definitions = input_schemas.model(cls)
        schemas.update(definitions)
        schemas[cls.__name__] = schema
    input_schemas.lax(schemas)
    schemas["CampaignIn"]["properties"]["ruleGroup"] = {**ref("RuleGroup"), "description": "`{}`: every customer"}
    if "variants" in schemas["CampaignIn"]["properties"]:  # a message or variants; an A/B test needs variants
        none = {"type": "null"}
        schemas["CampaignIn"]["not"] = {
            "anyOf": [
                {"properties": {"message": none, "variants": none}},
                {"required": ["abTest"], "properties": {"abTest": {"type": "object"}, "variants": none}},
            ]
        }
    schemas["SuppressionIn"]["oneOf"] = [{"required": ["email"]}, {"required": ["customerId"]}]
    for name in ("email", "customerId"):  # exactly one of them, not null
        schemas["SuppressionIn"]["properties"][name] = schemas["SuppressionIn"]["properties"][name]["anyOf"][0]
    return {
        "schemas": schemas,
        "securitySchemes": {
            "session": {"type": "http", "scheme": "bearer", "description": "a session token from POST /api/auth"},
            "webhookSignature": {
                "type": "apiKey",
                "in": "header",
                "name": "webhook-signature",
                "description": "Standard Webhooks: `webhook-id`, `webhook-timestamp` and `webhook-signature` "
                "(v1, HMAC-SHA256 with a secret of MINICRM_WEBHOOK_SECRETS)",
            },
        },
    }


def paths(settings: Settings) -> dict[str, Any]:
    campaign_id = [CAMPAIGN_ID]
    control = ref("Campaign")
    public: list = []
    return {
        "/api/auth": {
            "post": _op(
                "signIn",
                "Sign in with a Google ID token, a login key, or as the trusted frontend",
                {"anyOf": [ref("GoogleLogin"), ref("KeyLogin"), ref("TrustedLogin")]},
                answer={"type": "object", "properties": {"token": {"type": "string"}, "user": OBJECT}},
                errors=(401, 429),
                security=public,
            ),
            "get": _op("whoAmI", "The signed-in user", errors=(400,)),
        },
        "/api/customers": {
            "post": _op(
                "createCustomers",
                "Create or update customers (upsert by email)",
                _one_or_many("CustomerIn", settings),
                202,
            )
        },
        "/api/customers/get": {
            "post": _op(
                "searchCustomers",
                "Customers matching a ruleGroup (`{}` or null: all), every match or a page",
                {"anyOf": [ref("RuleGroup"), {"type": "null"}]},
                answer=ARRAY_OF_OBJECTS,
                params=[paging(settings, customers.OLDEST_FIRST)],
                headers=TOTAL,
            )
        },
        "/api/orders": {
            "post": _op(
                "createOrders",
                "Create or update orders; each customerId must name a customer (400 otherwise), and an order id "
                "stays with its first customer (409 otherwise)",
                _one_or_many("OrderIn", settings),
                202,
                errors=(409,),
            ),
            "get": _op(
                "listOrders",
                "Orders, filtered, newest first",
                answer=ARRAY_OF_OBJECTS,
                headers=TOTAL,
                params=[
                    paging(settings, orders.NEWEST_FIRST),
                    uuid_filter("customerId"),
                    choice("status", ORDER_STATUSES),
                ],
                errors=(400,),
            ),
        },
        "/api/campaigns": {
            "post": _op(
                "createCampaign",
                "Create a campaign; it runs in the pipeline (with sendAt: SCHEDULED, started when due)",
                ref("CampaignIn"),
                201,
                answer=ref("CampaignCreated"),
                links=campaign_links("/campaignId"),
            )
        },
        "/api/campaigns/get": {
            "post": _op(
                "getCampaigns",
                "{} or {userId}: your campaigns, newest first; {campaignId}: one with its counters; "
                "{ruleGroup}: a segment's preview",
                {
                    "anyOf": [
                        {"type": "object", "required": ["campaignId"], "properties": {"campaignId": UUID}},
                        {
                            "type": "object",
                            "required": ["ruleGroup"],
                            "properties": {"ruleGroup": {"anyOf": [ref("RuleGroup"), {"type": "null"}]}},
                            "not": {"required": ["campaignId"]},
                        },
                        {
                            "type": "object",
                            "properties": {"userId": {"anyOf": [input_schemas.NO_NUL, {"type": "null"}]}},
                            "not": {"anyOf": [{"required": ["campaignId"]}, {"required": ["ruleGroup"]}]},
                        },
                    ],
                    "propertyNames": input_schemas.NO_NUL,
                    "additionalProperties": input_schemas.JSON,
                },
                answer={"oneOf": [OBJECT, ARRAY_OF_OBJECTS]},
                params=[paging(settings, campaigns.NEWEST_FIRST, always=False)],
                errors=(404,),
            )
        },
        "/api/campaigns/{id}": {
            "patch": _op(
                "rescheduleCampaign",
                "Reschedule a SCHEDULED campaign (409 otherwise)",
                ref("RescheduleIn"),
                answer=control,
                params=campaign_id,
                links=campaign_links("/id"),
                errors=(404, 409),
            )
        },
        "/api/campaigns/{id}/pause": {
            "post": _op(
                "pauseCampaign",
                "Pause: no further vendor calls within a second or two (409 unless started and not final)",
                answer=control,
                params=campaign_id,
                links=campaign_links("/id"),
                errors=(400, 404, 409),
            )
        },
        "/api/campaigns/{id}/resume": {
            "post": _op(
                "resumeCampaign",
                "Resume a PAUSED campaign where it stopped (409 otherwise)",
                answer=control,
                params=campaign_id,
                links=campaign_links("/id"),
                errors=(400, 404, 409),
            )
        },
        "/api/campaigns/{id}/cancel": {
            "post": _op(
                "cancelCampaign",
                "Cancel: final; messages not yet sent become CANCELLED and are counted (409 once final)",
                answer=control,
                params=campaign_id,
                links=campaign_links("/id"),
                errors=(400, 404, 409),
            )
        },
        "/api/campaigns/{id}/test": {
            "post": _op(
                "testSendCampaign",
                "Send the personalised message to up to 10 customers (ids or emails), marked test, not counted; "
                "each must exist and not be opted out (400 naming them)",
                ref("TestSendIn"),
                202,
                params=campaign_id,
                errors=(404,),
            )
        },
        "/api/campaigns/{id}/resend": {
            "post": _op(
                "resendCampaign",
                "A new campaign, linked to this final one, to its customers whose messages ended in `statuses`",
                ref("ResendIn"),
                201,
                answer=ref("CampaignCreated"),
                params=campaign_id,
                errors=(404, 409),
                links=campaign_links("/campaignId"),
            )
        },
        "/api/campaigns/{id}/events": {
            "get": _op(
                "campaignEvents",
                "The campaign's progress as Server-Sent Events: every second the campaign's read (without "
                "`timeline`, with `eta_seconds`) until it is final; the last event (`event: final`) is the final "
                "read. `Last-Event-ID` resumes the numbering",
                answer={
                    "type": "object",
                    "required": ["id", "event", "data"],
                    "properties": {
                        "id": {"type": "string", "pattern": "^[0-9]+$"},
                        "event": {"enum": ["progress", "final"]},
                        "data": {
                            "type": "string",
                            "contentMediaType": "application/json",
                            "contentSchema": ref("Campaign"),
                        },
                    },
                },
                params=[
                    CAMPAIGN_ID,
                    {"name": "Last-Event-ID", "in": "header", "schema": {"type": "string", "pattern": "^[0-9]{0,12}$"}},
                ],
                errors=(400, 404),
                media_type="text/event-stream",
            )
        },
        "/api/suppressions": {
            "post": _op(
                "createSuppressions",
                "Opt customers out (by email or customerId, which must name a customer) of every campaign",
                _one_or_many("SuppressionIn", settings),
                201,
                answer={"type": "object", "properties": {"emails": {"type": "array", "items": {"type": "string"}}}},
                links={
                    "deleteSuppression": {
                        "operationId": "deleteSuppression",
                        "parameters": {"email": "$response.body#/emails/0"},
                    }
                },
            ),
            "get": _op(
                "listSuppressions",
                "The opt-out list, newest first",
                answer=ARRAY_OF_OBJECTS,
                headers=TOTAL,
                params=[paging(settings, suppressions.NEWEST_FIRST)],
                errors=(400,),
            ),
        },
        "/api/suppressions/{email}": {
            "delete": _op(
                "deleteSuppression",
                "Take an email off the opt-out list",
                ok=204,
                params=[{"name": "email", "in": "path", "required": True, "schema": input_schemas.NO_NUL}],
                errors=(400, 404),
            )
        },
        "/api/logs": {
            "get": _op(
                "listLogs",
                "Communication log rows of your campaigns, filtered, oldest first",
                answer=ARRAY_OF_OBJECTS,
                headers=TOTAL,
                params=[
                    paging(settings, logs.OLDEST_FIRST),
                    query("campaignId", UUID, "one of your campaigns (404 otherwise)"),
                    uuid_filter("customerId"),
                    choice("status", states.MESSAGE_STATUSES),
                ],
                errors=(400, 404),
            )
        },
        "/api/receipts": {
            "post": _op(
                "createReceipts",
                "Vendor delivery receipts, signed (Standard Webhooks)",
                {
                    "type": "array",
                    "items": ref("ReceiptIn"),
                    "minItems": 1,
                    "description": f"at most {settings.max_items} (413 past it)",
                },
                201,
                security=[{"webhookSignature": []}],
            )
        },
        "/api/dead-letters": {
            "get": _op(
                "listDeadLetters",
                "Records the pipeline could not store, newest first: topic, key, payload (as it was on the topic), "
                "reason, created_at, replayed_at. Replay with `minicrm dead-letters replay`",
                answer=ARRAY_OF_OBJECTS,
                headers=TOTAL,
                params=[
                    paging(settings, dead_letters.NEWEST_FIRST),
                    query("topic", input_schemas.NO_NUL, "e.g. orders (or the full topic name); empty: all"),
                    query("since", {"anyOf": [{"type": "string", "format": "date-time"}, {"const": ""}]}),
                ],
                errors=(400,),
            )
        },
        "/api/ai/campaign": {
            "post": _op("suggestMessages", "Three message suggestions", ref("CampaignIdea")),
        },
        "/api/ai/dynamic": {
            "post": _op("wordsToRules", "Plain words to a ruleGroup", ref("Query"), errors=(422,)),
        },
        "/metrics": {
            "get": _op(
                "metrics",
                "Prometheus metrics of this edge (text format)",
                answer={"type": "string"},
                security=public,
                media_type="text/plain",
            )
        },
        "/healthz": {"get": _op("healthz", "The process is up", security=public)},
        "/readyz": {
            "get": _op("readyz", "Kafka and PostgreSQL are reachable; dead letters not replayed", security=public)
        },
    }


@lru_cache(maxsize=4)
def spec(settings: Settings | None = None) -> dict[str, Any]:
    settings = settings or Settings()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "MiniCRM core backend",
            "version": "0.1.0",
            "description": "Customers, orders, segments and campaigns; compatible with the original API. Text "
            "is stripped of surrounding whitespace; no string may hold a NUL; unknown fields are ignored.",
        },
        "servers": [{"url": "/"}],
        "paths": paths(settings),
        "components": components(settings),
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
