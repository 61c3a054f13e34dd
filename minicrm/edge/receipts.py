"""`POST /api/receipts`: signed vendor receipts, published per campaign and answered at once."""

from __future__ import annotations

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
    await request.app[PUBLISHER].publish_batched(
        settings.topic("receipts"),
        ((str(r.campaignId), {"commId": str(r.commId), "campaignId": str(r.campaignId), "status": r.status,
                                   "reason": r.reason}) for r in receipts),
        lambda part: ReceiptBatch.encode(campaign_id=part[0]["campaignId"], receipts=part),
        max_items=settings.batch_size,
    )
    return json_response({"message": "receipts accepted", "count": len(receipts)}, status=201)
