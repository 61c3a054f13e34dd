"""`GET /api/logs`: communication log rows, filtered by campaign (or journey), status, variant and
customer, paged.
A journey's messages are the log rows of the campaign row with its id, so `journeyId` is that filter."""

from __future__ import annotations

from aiohttp import web

from minicrm import campaign_states as states
from minicrm import sql
from minicrm.edge.auth import scope
from minicrm.edge.campaigns import campaign_uuid
from minicrm.edge.listing import SortOrder, listing
from minicrm.edge.requests import filters, page, query_text
from minicrm.edge.state import POOL, SETTINGS

OLDEST_FIRST = SortOrder((("l.created_at", "timestamptz"), ("l.id", "uuid")))


async def list_logs(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    listed = page(request, settings)
    where, params = filters(
        request,
        uuids={"campaignId": "l.campaign_id", "journeyId": "l.campaign_id", "customerId": "l.customer_id"},
        choices={"status": ("l.status", states.MESSAGE_STATUSES)},
    )
    if (variant := query_text(request, "variant")) is not None:
        params.append(variant)
        where += f" AND l.variant = ${len(params)}"
    user, total = scope(request), None
    scoped_by = next((name for name in ("campaignId", "journeyId") if name in request.query), None)
    # the campaign's counters give its total; a customer's or a variant's rows are counted
    whole_campaign = scoped_by is not None and "customerId" not in request.query and variant is None
    if scoped_by is not None:  # the campaign's or journey's, if it is yours (404 otherwise)
        async with request.app[POOL].acquire() as conn:
            campaign_id = campaign_uuid(request.query[scoped_by])
            campaign = await sql.campaigns.owned(conn, campaign_id, user, sql.logs.TOTALS)
            if whole_campaign:
                total = await sql.logs.total(conn, campaign, request.query.get("status") or None)
        # Its rows are written after it: the log's order index can start at its creation.
        params.append(campaign["created_at"])
        where += f" AND l.created_at >= ${len(params)}"
    elif user:  # a marketer: only the logs of their own campaigns
        params.append(user)
        where += f" AND l.campaign_id IN (SELECT id FROM campaigns WHERE user_id = ${len(params)})"
    return await listing(
        request,
        request.app[POOL],
        listed,
        select=sql.logs.COLUMNS,
        source="communication_log l",
        where=where,
        params=params,
        order=OLDEST_FIRST,
        total=total,
        in_index_order=whole_campaign,  # the index (campaign_id, created_at, id), whatever the status asked for
    )
