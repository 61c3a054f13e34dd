"""The opt-out (suppression) list: `POST`, `GET` (paged) and `DELETE /api/suppressions/{email}`.

A suppressed email is never messaged by a campaign: segmentation writes it as SKIPPED
("opted out") and counts it, and the fan-out does the same with a message still waiting
when its recipient opts out. The list is the organisation's, not one user's: an opt-out
holds for every campaign. The vendor adds to it with UNSUBSCRIBED and BOUNCED receipts.
"""

from __future__ import annotations

from aiohttp import web

from minicrm import sql
from minicrm.edge.errors import InvalidInput
from minicrm.edge.listing import SortOrder, listing
from minicrm.edge.requests import page, validate_items
from minicrm.edge.responses import json_response
from minicrm.edge.schemas import SuppressionIn
from minicrm.edge.state import POOL, SETTINGS

NEWEST_FIRST = SortOrder((("s.created_at", "timestamptz"), ("s.email", "text")), descending=True)


async def create(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    items = validate_items(SuppressionIn, await request.read(), settings.max_items)
    db = request.app[POOL]
    ids = [i.customerId for i in items if i.customerId]
    emails = {r["id"]: r["email"] for r in await sql.customers.emails(db, ids)} if ids else {}
    unknown = [
        {"item": n, "field": "customerId", "message": "no such customer"}
        for n, i in enumerate(items)
        if i.customerId and i.customerId not in emails
    ]
    if unknown:
        raise InvalidInput(unknown)
    chosen = {(i.email or emails[i.customerId]): i.reason for i in items}  # the last reason per email wins
    await sql.suppressions.add(db, list(chosen), list(chosen.values()))
    return json_response({"message": "suppressed", "emails": list(chosen)}, status=201)


async def list_suppressions(request: web.Request) -> web.StreamResponse:
    listed = page(request, request.app[SETTINGS], unpaged=False)
    return await listing(
        request,
        request.app[POOL],
        listed,
        select=sql.suppressions.COLUMNS,
        source="suppressions s",
        where="TRUE",
        params=[],
        order=NEWEST_FIRST,
    )


async def delete(request: web.Request) -> web.Response:
    email = request.match_info["email"].strip().lower()
    if "\x00" in email:
        raise InvalidInput([{"field": "email", "message": "not a valid email address"}])
    await sql.suppressions.delete(request.app[POOL], email)
    return web.Response(status=204)
