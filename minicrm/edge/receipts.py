"""`POST /api/receipts`: signed vendor receipts, published per campaign and answered at once."""

from __future__ import annotations

from collections import defaultdict

from aiohttp import web

from minicrm import webhooks
from minicrm.edge.errors import InvalidInput, Unauthorized
from minicrm.edge.requests import parse_json, validate_many
from minicrm.edge.responses import json_response
from minicrm.edge.schemas import ReceiptIn
from minicrm.edge.state import PUBLISHER, SETTINGS
from minicrm.streams.records import ReceiptBatch


async def create(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    raw = await request.read()
    if not settings.open_mode:
        try:
            webhooks.verify(settings.webhook_secrets, request.headers, raw)
        except webhooks.SignatureError as exc:
            raise Unauthorized(str(exc)) from None
    body = parse_json(raw)
    if not isinstance(body, list):
        raise InvalidInput("expected an array of receipts")
    receipts = validate_many(ReceiptIn, body, settings.max_items)
    by_campaign: dict[str, list[dict]] = defaultdict(list)
    for r in receipts:
        by_campaign[str(r.campaignId)].append({"commId": str(r.commId), "status": r.status, "reason": r.reason})
    batches = [  # keyed past the campaign id, so a campaign's receipts spread over partitions
        (f"{campaign}:{part[0]['commId']}", ReceiptBatch(campaign_id=campaign, receipts=part))
        for campaign, items in by_campaign.items()
        for part in _chunks(items, settings.batch_size)
    ]
    await request.app[PUBLISHER].publish(settings.topic("receipts"), batches)
    return json_response({"message": "receipts accepted", "count": len(receipts)}, status=201)


def _chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]
