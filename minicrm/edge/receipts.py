"""`POST /api/receipts`: signed vendor receipts, published per campaign and answered at once."""

from __future__ import annotations

from aiohttp import web

from minicrm import topics, webhooks
from minicrm.edge.errors import Unauthorized
from minicrm.edge.requests import validate_items
from minicrm.edge.responses import json_response
from minicrm.edge.schemas import ReceiptIn
from minicrm.edge.state import PUBLISHER, SETTINGS
from minicrm.records import ReceiptBatch


async def create(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    raw = await request.read()
    if not settings.open_mode:
        try:
            webhooks.verify(settings.webhook_secrets, request.headers, raw)
        except webhooks.SignatureError as exc:
            raise Unauthorized(str(exc)) from None
    receipts = validate_items(ReceiptIn, raw, settings.max_items, one=False)
    await request.app[PUBLISHER].publish_batched(
        topics.RECEIPTS,
        ((r["campaignId"].lower(), r) for r in receipts),  # as checked: {commId, campaignId, status[, reason]}
        lambda part: ReceiptBatch.encode(campaign_id=part[0]["campaignId"], receipts=part),
        max_items=settings.batch_size,
    )
    return json_response({"message": "receipts accepted", "count": len(receipts)}, status=201)
