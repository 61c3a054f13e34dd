"""The OpenAPI document's component schemas: the request bodies, from the pydantic models
that validate them, and the shapes the answers share."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from minicrm import campaign_states as states
from minicrm.edge.ai import CampaignIdea, Query
from minicrm.edge.auth import GoogleLogin, KeyLogin, TrustedLogin
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

ERROR = {"$ref": "#/components/schemas/Error"}
OBJECT = {"type": "object"}
ARRAY_OF_OBJECTS = {"type": "array", "items": OBJECT}
PAGING = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
    {
        "name": "cursor",
        "in": "query",
        "schema": {"type": "string"},
        "description": "the page after this position: a page's `X-Next-Cursor` (not with offset)",
    },
    {
        "name": "count",
        "in": "query",
        "schema": {"type": "string", "enum": ["exact"]},
        "description": "X-Total-Count exact whatever it costs (by default estimated past MINICRM_EXACT_COUNT_CAP)",
    },
]

TOTAL = {
    "X-Total-Count": {
        "schema": {"type": "integer"},
        "description": "rows matching, over all pages: exact up to "
        "MINICRM_EXACT_COUNT_CAP (or a campaign's counters), else PostgreSQL's estimate",
    },
    "X-Total-Count-Estimated": {
        "schema": {"type": "string", "enum": ["true"]},
        "description": "present when X-Total-Count is an estimate",
    },
    "X-Next-Cursor": {"schema": {"type": "string"}, "description": "on a full page: `?cursor=` for the next"},
}


def _model(model: type) -> dict[str, Any]:
    return TypeAdapter(model).json_schema(ref_template="#/components/schemas/{model}")


def components() -> dict[str, Any]:
    schemas: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["error", "detail"],
            "properties": {"error": {"type": "string"}, "detail": {}},
        },
        "Rule": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "attribute": {"type": "string", "enum": ["total_spend", "visit", "city", "last_order_date", ""]},
                "operator": {"type": "string", "enum": [">", "<", "=", ">=", "<=", "!=", ""]},
                "value": {"type": "string"},
            },
        },
        "RuleGroup": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "combinator": {"type": "string", "enum": ["AND", "OR"]},
                "rules": {
                    "type": "array",
                    "items": {
                        "anyOf": [{"$ref": "#/components/schemas/Rule"}, {"$ref": "#/components/schemas/RuleGroup"}]
                    },
                },
            },
        },
        "CampaignStatus": {
            "type": "string",
            "enum": list(states.STATUSES),
            "description": "COMPLETED, FAILED and CANCELLED are final; PAUSED says `paused_by` "
            "(user or vendor) and `pause_reason`",
        },
        "Campaign": {
            "type": "object",
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "status": {"$ref": "#/components/schemas/CampaignStatus"},
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
                        "attribution_days",
                        "conversions",
                        "holdout_size",
                        "holdout_conversions",
                        "waiting_count",
                    )
                },
                "conversion_rate": {"type": ["number", "null"], "description": "conversions of the messages SENT"},
                "attributed_revenue": {"type": "number"},
                "lift": {"type": ["number", "null"], "description": "conversion rate less the holdout's"},
                "lift_interval": {"type": ["array", "null"], "items": {"type": "number"}, "description": "95%"},
                "attribution_closes_at": {"type": ["string", "null"], "format": "date-time"},
                "winner": {"type": ["string", "null"]},
                "decision": {"type": ["object", "null"], "description": "the A/B decision, its reason and figures"},
                "variants": {
                    "type": ["array", "null"],
                    "items": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string"},
                            "message": {"type": "string"},
                            **{
                                name: {"type": "integer"}
                                for name in ("audience_size", "sent_count", "failed_count", "conversions")
                            },
                            "conversion_rate": {"type": ["number", "null"]},
                            "attributed_revenue": {"type": "number"},
                        },
                    },
                },
            },
        },
    }
    for model in (
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
    ):
        schema = _model(model)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    schemas["CampaignIn"]["properties"]["ruleGroup"] = {"$ref": "#/components/schemas/RuleGroup"}
    return schemas
