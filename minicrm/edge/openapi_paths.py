"""Each route's operation, keyed by the route's handler: the route table (`routes.py`) gives
method and path, these what the table cannot. A route whose handler is missing here stops the
document from being built (and `tests/test_openapi.py` says which)."""

from __future__ import annotations

from typing import Any

from minicrm import campaign_states as states
from minicrm.edge import (
    ai,
    auth,
    campaign_controls,
    campaign_events,
    campaigns,
    customers,
    dead_letters,
    journeys,
    logs,
    monitoring,
    orders,
    probes,
    receipts,
    suppressions,
    vendor_health,
)
from minicrm.edge.input_schemas import JSON, NO_NUL
from minicrm.edge.openapi_operations import (
    ARRAY_OF_OBJECTS,
    OBJECT,
    UUID,
    Operation,
    choice,
    query,
    ref,
    uuid_filter,
)
from minicrm.edge.schemas import (
    CampaignIn,
    CustomerIn,
    JourneyIn,
    OrderIn,
    ReceiptIn,
    ReplayIn,
    RescheduleIn,
    ResendIn,
    SuppressionIn,
    TestSendIn,
)
from minicrm.order_effects import ORDER_STATUSES

CAMPAIGNS = "/api/campaigns"
JOURNEYS = "/api/journeys"
CAMPAIGN_READS = {
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
            "properties": {"userId": {"anyOf": [NO_NUL, {"type": "null"}]}},
            "not": {"anyOf": [{"required": ["campaignId"]}, {"required": ["ruleGroup"]}]},
        },
    ],
    "propertyNames": NO_NUL,
    "additionalProperties": JSON,
}
SSE = {
    "type": "object",
    "required": ["id", "event", "data"],
    "properties": {
        "id": {"type": "string", "pattern": "^[0-9]+$"},
        "event": {"enum": ["progress", "final"]},
        "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": ref("Campaign")},
    },
}


def _control(op_id: str, summary: str, **more: Any) -> Operation:
    """A campaign control: answers the campaign, 404 for none of yours, 409 for a move not allowed now."""
    return Operation(op_id, summary, answer="Campaign", errors=(400, 404, 409), id_at="/id", **more)


def _journey(op_id: str, summary: str) -> Operation:
    """A journey control: answers the journey, 404 for none of yours, 409 for a move not allowed now."""
    return Operation(op_id, summary, answer=OBJECT, errors=(400, 404, 409), id_at="/id")


OPERATIONS: dict[Any, Operation] = {
    probes.healthz: Operation("healthz", "The process is up"),
    probes.readyz: Operation("readyz", "Kafka and PostgreSQL are reachable; dead letters not replayed"),
    monitoring.serve: Operation(
        "metrics", "Prometheus metrics of this edge (text format)", answer={"type": "string"}, media_type="text/plain"
    ),
    customers.create: Operation(
        "createCustomers", "Create or update customers (upsert by email)", CustomerIn, items="one or many", ok=202
    ),
    customers.search: Operation(
        "searchCustomers",
        "Customers matching a ruleGroup (`{}` or null: all), every match or a page",
        {"anyOf": [ref("RuleGroup"), {"type": "null"}]},
        answer=ARRAY_OF_OBJECTS,
        paging=customers.OLDEST_FIRST,
    ),
    orders.create: Operation(
        "createOrders",
        "Create or update orders; each customerId must name a customer (400 otherwise), and an order id "
        "stays with its first customer (409 otherwise)",
        OrderIn,
        items="one or many",
        ok=202,
        errors=(409,),
    ),
    orders.list_orders: Operation(
        "listOrders",
        "Orders, filtered, newest first",
        answer=ARRAY_OF_OBJECTS,
        paging=orders.NEWEST_FIRST,
        query=(uuid_filter("customerId"), choice("status", ORDER_STATUSES)),
    ),
    campaigns.create: Operation(
        "createCampaign",
        "Create a campaign; it runs in the pipeline (with sendAt: SCHEDULED, started when due)",
        CampaignIn,
        ok=201,
        answer="CampaignCreated",
        id_at="/campaignId",
    ),
    campaigns.get: Operation(
        "getCampaigns",
        "{} or {userId}: your campaigns, newest first; {campaignId}: one with its counters; "
        "{ruleGroup}: a segment's preview",
        CAMPAIGN_READS,
        answer={"oneOf": [OBJECT, ARRAY_OF_OBJECTS]},
        paging=campaigns.NEWEST_FIRST,
        errors=(404,),
        names=((CAMPAIGNS, "body.campaignId"),),
    ),
    campaign_controls.reschedule: Operation(
        "rescheduleCampaign",
        "Reschedule a SCHEDULED campaign (409 otherwise)",
        RescheduleIn,
        answer="Campaign",
        errors=(404, 409),
        id_at="/id",
    ),
    campaign_events.events: Operation(
        "campaignEvents",
        "The campaign's progress as Server-Sent Events: every second the campaign's read (without `timeline`, "
        "with `eta_seconds`) until it is final; the last event (`event: final`) is the final read. "
        "`Last-Event-ID` resumes the numbering",
        answer=SSE,
        media_type="text/event-stream",
        query=({"name": "Last-Event-ID", "in": "header", "schema": {"type": "string", "pattern": "^[0-9]{0,12}$"}},),
        errors=(400, 404),
    ),
    campaign_controls.pause: _control(
        "pauseCampaign", "Pause: no further vendor calls within a second or two (409 unless started and not final)"
    ),
    campaign_controls.resume: _control("resumeCampaign", "Resume a PAUSED campaign where it stopped (409 otherwise)"),
    campaign_controls.cancel: _control(
        "cancelCampaign", "Cancel: final; messages not yet sent become CANCELLED and are counted (409 once final)"
    ),
    campaign_controls.test_send: Operation(
        "testSendCampaign",
        "Send the personalised message to up to 10 customers (ids or emails), marked test, not counted; "
        "each must exist and not be opted out (400 naming them)",
        TestSendIn,
        ok=202,
        errors=(404,),
    ),
    campaign_controls.resend: Operation(
        "resendCampaign",
        "A new campaign, linked to this final one, to its customers whose messages ended in `statuses`",
        ResendIn,
        ok=201,
        answer="CampaignCreated",
        errors=(404, 409),
        id_at="/campaignId",
    ),
    journeys.create: Operation(
        "createJourney",
        "Create a journey: each customer who enters its segment (or places an order) gets its message",
        JourneyIn,
        ok=201,
        answer={"type": "object", "required": ["journeyId", "status"], "properties": {"journeyId": UUID}},
        id_at="/journeyId",
    ),
    journeys.list_journeys: Operation("listJourneys", "Your journeys", answer=ARRAY_OF_OBJECTS),
    journeys.get: Operation("getJourney", "A journey with its figures", answer=OBJECT, errors=(400, 404)),
    journeys.delete: _journey("deleteJourney", "Delete: no more entries; messages waiting are not sent"),
    journeys.pause: _journey("pauseJourney", "Pause an ACTIVE journey: entries wait (409 otherwise)"),
    journeys.resume: _journey("resumeJourney", "Resume a PAUSED journey (409 otherwise)"),
    suppressions.create: Operation(
        "createSuppressions",
        "Opt customers out (by email or customerId, which must name a customer) of every campaign",
        SuppressionIn,
        items="one or many",
        ok=201,
        answer={"type": "object", "properties": {"emails": {"type": "array", "items": {"type": "string"}}}},
        id_at="/emails/0",
    ),
    suppressions.list_suppressions: Operation(
        "listSuppressions",
        "The opt-out list, newest first",
        answer=ARRAY_OF_OBJECTS,
        paging=suppressions.NEWEST_FIRST,
    ),
    suppressions.delete: Operation(
        "deleteSuppression", "Take an email off the opt-out list", ok=204, errors=(400, 404)
    ),
    logs.list_logs: Operation(
        "listLogs",
        "Communication log rows of your campaigns, filtered, oldest first",
        answer=ARRAY_OF_OBJECTS,
        paging=logs.OLDEST_FIRST,
        query=(
            query("campaignId", UUID, "one of your campaigns (404 otherwise)"),
            query("journeyId", UUID, "one of your journeys (404 otherwise): its messages"),
            uuid_filter("customerId"),
            choice("status", states.MESSAGE_STATUSES),
        ),
        errors=(400, 404),
        names=((CAMPAIGNS, "query.campaignId"), (JOURNEYS, "query.journeyId")),
    ),
    receipts.create: Operation(
        "createReceipts",
        "Vendor delivery receipts, signed (Standard Webhooks)",
        ReceiptIn,
        items="many",
        ok=201,
        signed=True,
    ),
    dead_letters.list_dead_letters: Operation(
        "listDeadLetters",
        "Records the pipeline could not store, newest first: topic, key, payload (as it was on the topic), "
        "reason, created_at, replayed_at. Replay with `minicrm dead-letters replay`",
        answer=ARRAY_OF_OBJECTS,
        paging=dead_letters.NEWEST_FIRST,
        query=(
            query("topic", NO_NUL, "e.g. orders (or the full topic name); empty: all"),
            query("since", {"anyOf": [{"type": "string", "format": "date-time"}, {"const": ""}]}),
        ),
    ),
    dead_letters.replay: Operation(
        "replayDeadLetters",
        "Publish again the dead letters not replayed yet: one (`id`) or a topic's (`topic`), oldest first",
        ReplayIn,
        answer={"type": "object", "properties": {"message": {"type": "string"}, "replayed": {"type": "array"}}},
    ),
    vendor_health.show: Operation(
        "vendorHealth",
        "Each vendor's calls over the live view's window, its error rate, the body limit learnt from its "
        "413s, and the campaigns its failures paused",
        answer=OBJECT,
    ),
    ai.suggest: Operation("suggestMessages", "Three message suggestions", ai.CampaignIdea),
    ai.dynamic: Operation("wordsToRules", "Plain words to a ruleGroup", ai.Query, errors=(422,)),
    auth.login: Operation(
        "signIn",
        "Sign in with a Google ID token, a login key, or as the trusted frontend",
        (auth.GoogleLogin, auth.KeyLogin, auth.TrustedLogin),
        answer={"type": "object", "properties": {"token": {"type": "string"}, "user": OBJECT}},
        errors=(401, 429),
    ),
    auth.me: Operation("whoAmI", "The signed-in user", errors=(400,)),
}
