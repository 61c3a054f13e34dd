"""What the OpenAPI document says and JSON Schema cannot check, taught to schemathesis: loaded by
`st --config-file tests/support/schemathesis.toml run ...` (from the repository's root).

Each hook changes only positive cases (the ones schemathesis expects to be accepted): a negative
case keeps what makes it invalid.
- A cursor is base64url of a JSON array of sort keys: the document says so with `contentEncoding`
  and `contentSchema`, which schemathesis does not generate from.
- `sendAt` lies ahead (no schema can say "after now").
- An order's item `total` is quantity x unitPrice and its `amount` the sum of the totals; a
  campaign's variants have different names and one weight each.
- A customer id (orders, opt-outs) and a test send's recipients name a customer who exists and is
  not opted out: two customers the hooks post before the first call.
- Half the plain words sent to the AI are words it understands (no schema can say which are).
- Receipts carry a Standard Webhooks signature made with the deployment's secret
  (`MINICRM_WEBHOOK_SECRETS`, else the local development secret).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import requests
import schemathesis

from minicrm import webhooks
from minicrm.edge.customers import customer_id
from minicrm.settings import Settings

RECIPIENT = "fuzz.recipient@example.com"  # messaged by test sends, never opted out
OPTED_OUT = "fuzz.opted-out@example.com"  # what positive opt-outs by customerId name
CITY = "Fuzzville"
MONEY_CAP = Decimal("1e11")
DELETABLE = "fuzz.deletable@example.com"  # on the opt-out list, for a DELETE to take off
TOWN = 120  # customers of CITY
made: dict[str, dict[str, str]] = {}
turns: dict[str, int] = {}  # cases of each operation so far: every other one names a fixture


def positive(case: Any) -> bool:
    return case.meta is not None and case.meta.generation.mode.is_positive


def seed(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:6], "big")


def key_value(schema: dict[str, Any], n: int) -> str:
    """A sort key of the kind `schema` (one of the cursor's `prefixItems`) names."""
    if schema.get("format") == "date-time":
        return (datetime(2000, 1, 1, tzinfo=UTC) + timedelta(seconds=n % 10**9)).isoformat()
    if schema.get("format") == "uuid":
        return str(uuid.UUID(int=n))
    if "pattern" in schema:
        return str(n)
    return f"key-{n}"


def cursor(case: Any, value: str) -> str:
    """A cursor of this list, as the document's contentSchema describes it."""
    for parameter in case.operation.definition.raw.get("parameters", []):
        content = parameter.get("schema", {}).get("properties", {}).get("cursor", {}).get("contentSchema")
        if content:
            keys = [key_value(item, seed(f"{value}{i}")) for i, item in enumerate(content["prefixItems"])]
            return base64.urlsafe_b64encode(json.dumps(keys).encode()).decode().rstrip("=")
    return value


def money(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)


def text(value: Decimal) -> str:
    """Money as the document's text pattern has it: digits, at most six after the point."""
    return f"{value.quantize(Decimal('0.000001')):f}"


def fix_order(order: dict[str, Any]) -> None:
    order["customerId"] = customer_id(RECIPIENT)
    items = order.get("items") or []
    for item in items:
        quantity = int(float(str(item["quantity"]).strip())) if item["quantity"] is not True else 1
        item["total"] = text(quantity * money(item["unitPrice"]))
        if money(item["total"]) >= MONEY_CAP:
            item["unitPrice"], item["total"] = "0", "0"
    if items:
        total = sum((money(item["total"]) for item in items), Decimal(0))
        if total >= MONEY_CAP:
            for item in items:
                item["unitPrice"], item["total"] = "0", "0"
            total = Decimal(0)
        order["amount"] = text(total)


def fix_campaign(body: dict[str, Any]) -> None:
    if body.get("sendAt") is not None:
        body["sendAt"] = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    variants = body.get("variants") or []
    for i, variant in enumerate(variants):
        variant["name"] = f"{str(variant['name']).strip()[:30]} {i}"
    if body.get("weights") is not None:
        body["weights"] = (body["weights"] + [1.0] * len(variants))[: len(variants)] if variants else None


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    if not positive(case):
        return case
    label = case.operation.label
    fixtures(case.operation.schema)  # the customers positive cases name exist before any is sent
    name_fixtures(case)
    query = case.query if isinstance(case.query, dict) else {}
    for container in (query, *(v for v in query.values() if isinstance(v, dict))):
        if isinstance(container.get("cursor"), str):
            container["cursor"] = cursor(case, container["cursor"])
    body = case.body
    items = body if isinstance(body, list) else [body]
    if label == "POST /api/orders":
        for order in items:
            fix_order(order)
    elif label == "POST /api/suppressions":
        for item in items:
            if item.get("customerId") is not None:
                item["customerId"] = customer_id(OPTED_OUT)
    elif label == "POST /api/campaigns/{id}/test":
        body["to"] = [RECIPIENT if "@" in str(to) else customer_id(RECIPIENT) for to in body["to"]]
    elif label in ("POST /api/campaigns", "PATCH /api/campaigns/{id}"):
        fix_campaign(body)
    elif label == "POST /api/ai/dynamic" and seed(body["query"]) % 2 == 0:
        body["query"] = f"spent over {seed(body['query']) % 10_000} in {CITY}"  # words it understands
    return case


def secret() -> str:
    configured = os.environ.get("MINICRM_WEBHOOK_SECRETS", "")
    return configured.split(",")[0].strip() or Settings().webhook_secrets[0]


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    headers = case.headers or {}
    if case.operation.label == "POST /api/receipts" and "webhook-signature" in headers:
        try:  # the bytes `requests` sends for `json=`, sent as they are
            kwargs["data"] = json.dumps(case.body, allow_nan=False).encode()
        except (TypeError, ValueError):
            return
        headers.update(webhooks.sign(secret(), kwargs["data"]))


class Api:
    def __init__(self, schema: Any) -> None:
        self.base = schema.get_base_url().rstrip("/")
        self.headers = dict(schema.config.headers or {})

    def call(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(method, self.base + path, json=body, headers=self.headers, timeout=30)
        response.raise_for_status()
        return response.json() if response.content else None

    def until(self, check: Any, what: str) -> Any:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if found := check():
                return found
            time.sleep(0.2)
        raise TimeoutError(f"{what}: not within 90 s")


def fixtures(schema: Any) -> dict[str, str]:
    """What positive cases name, made once per run: customers (one messaged by test sends, one
    opted out by positive opt-outs, and a town of them), an email on the opt-out list, and
    campaigns in the states the controls act on: started (pause), paused (resume), scheduled
    (reschedule; another for cancel) and completed (events, test sends, resend, reads), and
    journeys: one active, one paused."""
    api = Api(schema)
    if api.base in made:
        return made[api.base]
    town = [{"name": f"Fuzz {i}", "email": f"fuzz.{i}@example.com", "city": CITY} for i in range(TOWN)]
    people = [{"name": "Fuzz", "email": email, "city": CITY} for email in (RECIPIENT, OPTED_OUT)]
    api.call("POST", "/api/customers", town + people)
    town_rule = {"rules": [{"attribute": "city", "operator": "=", "value": CITY}]}
    api.until(lambda: len(api.call("POST", "/api/customers/get", town_rule)) >= TOWN + 2, "the customers are stored")
    api.call("POST", "/api/suppressions", [{"email": DELETABLE}])
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat()

    def campaign(name: str, rule: dict[str, Any], **extra: Any) -> str:
        body = {"name": name, "ruleGroup": rule, "message": "Hi {{name}}", **extra}
        return str(api.call("POST", "/api/campaigns", body)["campaignId"])

    def status(campaign_id: str) -> dict[str, Any]:
        return dict(api.call("POST", "/api/campaigns/get", {"campaignId": campaign_id}))

    ids = {
        "running": campaign("fuzz: running", town_rule, ratePerSecond=1),
        "paused": campaign("fuzz: paused", town_rule, ratePerSecond=1),
        "scheduled": campaign("fuzz: scheduled", town_rule, sendAt=later),
        "cancellable": campaign("fuzz: to cancel", town_rule, sendAt=later),
        "completed": campaign("fuzz: done", {"rules": [{"attribute": "city", "operator": "=", "value": "Nowhere"}]}),
    }
    # Both started (at 1 message a second they send for two minutes); one paused, for a resume.
    for started in ("running", "paused"):
        api.until(lambda: status(ids[started])["status"] in ("SEGMENTING", "RUNNING"), "a campaign starts")
    api.call("POST", f"/api/campaigns/{ids['paused']}/pause")
    api.until(lambda: status(ids["completed"])["summary"] is not None, "a campaign completes")
    journey = {"name": "fuzz", "trigger": {"type": "order_placed"}, "message": "Hi {{name}}"}
    ids["journey"], ids["paused journey"] = (str(api.call("POST", "/api/journeys", journey)["journeyId"]) for _ in "12")
    api.call("POST", f"/api/journeys/{ids['paused journey']}/pause")
    made[api.base] = ids
    return ids


# Which fixture a positive case of each operation names (every other one: the others keep the
# generated id, whose 404 is tested too; not by the id's hash, as the coverage phase sends one id).
FIXTURE_OF = {
    "POST /api/campaigns/{id}/pause": "running",
    "POST /api/campaigns/{id}/resume": "paused",
    "PATCH /api/campaigns/{id}": "scheduled",
    "POST /api/campaigns/{id}/cancel": "cancellable",
    "POST /api/campaigns/{id}/resend": "completed",
    "POST /api/campaigns/{id}/test": "completed",
    "GET /api/campaigns/{id}/events": "completed",
    "GET /api/journeys/{id}": "journey",
    "POST /api/journeys/{id}/pause": "journey",
    "POST /api/journeys/{id}/resume": "paused journey",
    "DELETE /api/journeys/{id}": "journey",
}


def name_fixtures(case: Any) -> None:
    """Not in the stateful phase: there the links supply ids of what the run created."""
    if case.meta.phase.name == "stateful":
        return
    label = case.operation.label
    params = case.path_parameters or {}
    turns[label] = turn = turns.get(label, 0) + 1
    if label in FIXTURE_OF and turn % 2 == 0:
        params["id"] = fixtures(case.operation.schema)[FIXTURE_OF[label]]
    elif label == "DELETE /api/suppressions/{email}" and turn % 2 == 0:
        fixtures(case.operation.schema)
        params["email"] = DELETABLE
