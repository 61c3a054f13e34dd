"""What a user does to a campaign once it exists: pause, resume, cancel, reschedule, a test
send, and a resend to the customers whose messages ended as they say.

Each action is decided by `campaign_states.decide` on the state read, and applied only if
the status is still the one decided on (otherwise decided again): an illegal action answers
409 with the reason, a campaign that is not the caller's 404 (an operator acts on every
campaign). The answer is the campaign.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import asyncpg
from aiohttp import web

from minicrm import campaign_states as states
from minicrm import sql, templating, topics
from minicrm.edge.auth import scope
from minicrm.edge.campaigns import campaign_uuid, one, publish_request, submit
from minicrm.edge.errors import ApiError, Conflict, InvalidInput
from minicrm.edge.requests import read_json, validate_one
from minicrm.edge.responses import json_response
from minicrm.edge.schemas import RescheduleIn, ResendIn, TestSendIn
from minicrm.edge.state import POOL, PUBLISHER
from minicrm.records import CampaignDone, CampaignRequest, DeliveryBatch, delivery

ATTEMPTS = 5
Apply = Callable[[asyncpg.Pool, uuid.UUID, states.State, states.Move], Awaitable[bool]]


async def act(request: web.Request, action: str, apply: Apply) -> web.Response:
    campaign_id = campaign_uuid(request.match_info["id"])
    db = request.app[POOL]
    if await sql.journeys.exists(db, campaign_id):
        raise Conflict(f"this is journey {campaign_id}'s campaign: pause, resume or delete the journey instead")
    for _ in range(ATTEMPTS):
        state = await sql.campaign_controls.control_state(db, campaign_id, scope(request))
        try:
            move = states.decide(action, state)
        except states.IllegalTransition as exc:
            raise Conflict(str(exc)) from None
        if await apply(db, campaign_id, state, move):
            return await one(request, campaign_id)
    raise Conflict("the campaign kept changing while this was applied; try again")


def applied(tag: str) -> bool:
    return tag.endswith(" 1")


async def pause(request: web.Request) -> web.Response:
    async def apply(db: asyncpg.Pool, campaign_id: uuid.UUID, state: states.State, move: states.Move) -> bool:
        return applied(await sql.campaign_controls.pause(db, campaign_id, state.status, "paused by its user"))

    return await act(request, states.PAUSE, apply)


async def resume(request: web.Request) -> web.Response:
    """A new delivery epoch, and the request again: what is still pending is published again."""

    async def apply(db: asyncpg.Pool, campaign_id: uuid.UUID, state: states.State, move: states.Move) -> bool:
        if not applied(await sql.campaign_controls.resume(db, campaign_id, move.status)):
            return False
        record = CampaignRequest.from_row(await sql.campaigns.request(db, campaign_id))
        try:
            await publish_request(request, record)
        except ApiError:  # nothing would send it: paused it stays, and the user can try again
            await sql.campaign_controls.pause(db, campaign_id, move.status, "paused by its user")
            raise
        return True

    return await act(request, states.RESUME, apply)


async def cancel(request: web.Request) -> web.Response:
    """CANCELLED at once; its pending messages become CANCELLED, and a started campaign gets its summary."""

    async def apply(db: asyncpg.Pool, campaign_id: uuid.UUID, state: states.State, move: states.Move) -> bool:
        async with db.acquire() as conn, conn.transaction():
            await sql.segmentation.lock(conn, campaign_id)  # after a chunk being written
            if not applied(await sql.campaign_controls.cancel(conn, campaign_id, state.status)):
                return False
        await sql.campaign_controls.cancel_pending(db, campaign_id)  # after CANCEL commits: no chunk is missed
        if state.status in states.STARTED:
            done = CampaignDone(campaign_id=str(campaign_id))
            await request.app[PUBLISHER].publish(topics.SUMMARIES, [(done.campaign_id, done)])
        return True

    return await act(request, states.CANCEL, apply)


async def reschedule(request: web.Request) -> web.Response:
    """`PATCH /api/campaigns/{id}` with `{sendAt}` while SCHEDULED."""
    body = validate_one(RescheduleIn, await read_json(request))

    async def apply(db: asyncpg.Pool, campaign_id: uuid.UUID, state: states.State, move: states.Move) -> bool:
        return applied(await sql.campaign_controls.reschedule(db, campaign_id, state.status, body.sendAt))

    return await act(request, states.RESCHEDULE, apply)


async def test_send(request: web.Request) -> web.Response:
    """The personalised message to the given customers only (ids or emails, at most 10), marked
    as test in the log and not counted in the campaign. Sent whatever the campaign's status."""
    body = validate_one(TestSendIn, await read_json(request))
    campaign_id = campaign_uuid(request.match_info["id"])
    db = request.app[POOL]
    async with db.acquire() as conn:
        campaign = await sql.campaigns.owned(conn, campaign_id, scope(request), "c.id, c.message")
        ids, emails = split_recipients(body.to)
        customers = await sql.customers.by_id_or_email(conn, ids, emails)
    by_key = {key: c for c in customers for key in (str(c["id"]), c["email"])}
    problems = []
    for i, who in enumerate(body.to):
        customer = by_key.get(who.lower())
        if customer is None or customer["opted_out"]:
            problems.append(
                {"field": f"to.{i}", "message": "this customer opted out" if customer else "no such customer"}
            )
    if problems:
        raise InvalidInput(problems)
    messages = [
        delivery(
            uuid.uuid4(),
            campaign_id,
            c["id"],
            c["name"],
            c["email"],
            c["phone"],
            templating.render(campaign["message"], c),
        )
        for c in customers
    ]
    await sql.logs.insert_test_messages(
        db,
        campaign_id,
        *([m[key] for m in messages] for key in ("commId", "customerId", "name", "email", "phone", "personalized_msg")),
    )
    batch = DeliveryBatch(campaign_id=str(campaign_id), deliveries=messages, test=True)
    await request.app[PUBLISHER].publish(topics.DELIVERIES, [(batch.campaign_id, batch)])
    return json_response({"message": "test messages accepted", "commIds": [m["commId"] for m in messages]}, status=202)


def split_recipients(recipients: list[str]) -> tuple[list[uuid.UUID], list[str]]:
    ids, emails = [], []
    for who in recipients:
        try:
            ids.append(uuid.UUID(who))
        except ValueError:
            emails.append(who.lower())
    return ids, emails


def with_first(variants: list[dict] | None, winner: str | None) -> list[dict] | None:
    """The variants with the A/B test's winner first: a resent customer who had no variant (held
    back while the test ran, then cancelled) gets it."""
    if not variants or winner is None:
        return variants
    return sorted(variants, key=lambda v: v["name"] != winner)


async def resend(request: web.Request) -> web.Response:
    """A new campaign, linked to this one, to its customers whose messages ended in `statuses`
    (minus opt-outs); this campaign's counters stay as they are. Each customer gets the variant
    they had (unless a new message is given), and conversions are counted as the first's were."""
    body = validate_one(ResendIn, await read_json(request))
    campaign_id = campaign_uuid(request.match_info["id"])
    db = request.app[POOL]
    async with db.acquire() as conn:
        first = await sql.campaigns.owned(
            conn,
            campaign_id,
            scope(request),
            "c.id, c.user_id, c.name, c.segment, c.message, c.status, c.variants, c.assignment_seed,"
            " c.attribution_days, c.winner",
        )
        if first["status"] not in (states.COMPLETED, states.CANCELLED):
            raise Conflict(
                f"a campaign can be resent to once it is COMPLETED or CANCELLED; this one is {first['status']}"
            )
        size = await sql.campaign_controls.resend_size(conn, campaign_id, body.statuses)
    statuses = sorted(set(body.statuses))
    record = CampaignRequest(
        id=str(uuid.uuid4()),
        user_id=first["user_id"],
        name=body.name or f"{first['name']} (resend)",
        segment=first["segment"],
        message=body.message or first["message"],
        intent=f'Customers whose messages of "{first["name"]}" ended {" or ".join(statuses)}.',
        resend_of=str(campaign_id),
        resend_statuses=statuses,
        attribution_days=first["attribution_days"],
        variants=None if body.message else with_first(first["variants"], first["winner"]),
        assignment_seed=str(first["assignment_seed"] or campaign_id),
    )
    status = await submit(request, record, expected=size)
    return json_response(
        {
            "message": "resend accepted; it runs in the pipeline",
            "campaignId": record.id,
            "resendOf": str(campaign_id),
            "audience_size": size,
            "status": status,
        },
        status=201,
    )
