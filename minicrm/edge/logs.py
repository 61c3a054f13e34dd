"""`GET /api/logs`: communication log rows, filtered by campaign, status and customer, paged."""

from __future__ import annotations

from aiohttp import web

from minicrm import campaign_states as states
from minicrm.edge.auth import current_user
from minicrm.edge.campaigns import campaign_uuid
from minicrm.edge.listing import listing
from minicrm.edge.requests import filters, page
from minicrm.edge.state import POOL, SETTINGS
from minicrm.sql import queries, reads



async def list_logs(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    listed = page(request, settings)
    where, params = filters(
        request,
        uuids={"campaignId": "l.campaign_id", "customerId": "l.customer_id"},
        choices={"status": ("l.status", states.MESSAGE_STATUSES)},
    )
    if user := current_user(request):  # signed in: only the logs of your own campaigns
        if "campaignId" in request.query:
            async with request.app[POOL].acquire() as conn:
                await reads.campaign(conn, campaign_uuid(request.query["campaignId"]), user)
        params.append(user)
        where += f" AND l.campaign_id IN (SELECT id FROM campaigns WHERE user_id = ${len(params)})"
    return await listing(
        request, request.app[POOL], listed, select=queries.LOG_COLUMNS, source="communication_log l", where=where,
        params=params, order="l.created_at, l.id",
    )
