"""The OpenAPI document's component schemas: the request bodies, from the pydantic models that
validate them (`input_schemas`), the rule tree (`rule_schemas`), and the shapes answers share."""

from __future__ import annotations

from typing import Any

from minicrm import campaign_states as states
from minicrm.edge import input_schemas
from minicrm.edge.openapi_operations import UUID, ref
from minicrm.edge.rule_schemas import rule_schemas

COUNTERS = (
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
VARIANT = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "message": {"type": "string"},
        **{name: {"type": "integer"} for name in ("audience_size", "sent_count", "failed_count", "conversions")},
        "conversion_rate": {"type": ["number", "null"]},
        "attributed_revenue": {"type": "number"},
    },
}
CAMPAIGN = {
    "type": "object",
    "required": ["id", "status"],
    "properties": {
        "id": UUID,
        "status": ref("CampaignStatus"),
        "paused_by": {"enum": [states.USER, states.VENDOR, None]},
        "pause_reason": {"type": ["string", "null"]},
        **{name: {"type": ["integer", "null"]} for name in COUNTERS},
        "conversion_rate": {"type": ["number", "null"], "description": "conversions of the messages SENT"},
        "attributed_revenue": {"type": "number"},
        "lift": {"type": ["number", "null"], "description": "conversion rate less the holdout's"},
        "lift_interval": {"type": ["array", "null"], "items": {"type": "number"}, "description": "95%"},
        "attribution_closes_at": {"type": ["string", "null"], "format": "date-time"},
        "winner": {"type": ["string", "null"]},
        "decision": {"type": ["object", "null"], "description": "the A/B decision, its reason and figures"},
        "variants": {"type": ["array", "null"], "items": VARIANT},
    },
}
SHARED = {
    "Error": {
        "type": "object",
        "required": ["error", "detail"],
        "properties": {"error": {"type": "string"}, "detail": {}},
    },
    "CampaignStatus": {
        "type": "string",
        "enum": list(states.STATUSES),
        "description": "COMPLETED, FAILED and CANCELLED are final; PAUSED says `paused_by` (user or vendor) "
        "and `pause_reason`",
    },
    "Campaign": CAMPAIGN,
    "CampaignCreated": {
        "type": "object",
        "required": ["campaignId", "status"],
        "properties": {"campaignId": UUID, "status": ref("CampaignStatus"), "audience_size": {"type": "integer"}},
    },
}
SECURITY = {
    "session": {"type": "http", "scheme": "bearer", "description": "a session token from POST /api/auth"},
    "webhookSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "webhook-signature",
        "description": "Standard Webhooks: `webhook-id`, `webhook-timestamp` and `webhook-signature` "
        "(v1, HMAC-SHA256 with a secret of MINICRM_WEBHOOK_SECRETS)",
    },
}


def components(models: list[type]) -> dict[str, Any]:
    """The schemas of `models` (the request bodies) and of what they and the answers refer to."""
    schemas: dict[str, Any] = {
        **SHARED,
        **input_schemas.json_without_nul(),
        **rule_schemas(),
    }
    for cls in models:
        schema, definitions = input_schemas.model(cls)
        schemas.update(definitions)
        schemas[cls.__name__] = schema
    input_schemas.lax(schemas)
    _campaign_rules(schemas)
    return {"schemas": schemas, "securitySchemes": SECURITY}


def _campaign_rules(schemas: dict[str, Any]) -> None:
    """What the models' own validators hold, said in the schema: a campaign's ruleGroup, a message or
    variants (an A/B test needs variants), a journey's trigger (entering a segment needs its
    ruleGroup), an opt-out by email or customerId (one of them)."""
    campaign = schemas["CampaignIn"]
    campaign["properties"]["ruleGroup"] = {**ref("RuleGroup"), "description": "`{}`: every customer"}
    none = {"type": "null"}
    campaign["not"] = {
        "anyOf": [
            {"properties": {"message": none, "variants": none}},
            {"required": ["abTest"], "properties": {"abTest": {"type": "object"}, "variants": none}},
        ]
    }
    trigger = schemas["TriggerIn"]
    trigger["properties"]["ruleGroup"] = {"anyOf": [ref("RuleGroup"), none], "description": "the segment"}
    trigger["not"] = {"required": ["type"], "properties": {"type": {"const": "enters_segment"}, "ruleGroup": none}}
    suppression = schemas["SuppressionIn"]
    suppression["oneOf"] = [{"required": ["email"]}, {"required": ["customerId"]}]
    for name in ("email", "customerId"):  # exactly one of them, not null
        suppression["properties"][name] = suppression["properties"][name]["anyOf"][0]
