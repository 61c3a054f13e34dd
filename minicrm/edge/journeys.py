"""`/api/journeys`: create, list, read, pause, resume and delete a journey.

The journey's row and its campaign row (same id: its messages' log rows, counters and summary)
are written here, in one transaction; the `journeys` worker starts it within a second. A user
sees and changes only their own journeys (404 otherwise); an operator, everyone's.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from aiohttp import web

from minicrm import campaign_states as states
from minicrm import journeys, sql, topics
from minicrm.edge.auth import current_user, scope
from minicrm.edge.campaigns import campaign_uuid
from minicrm.edge.errors import Conflict, InvalidInput
from minicrm.edge.requests import read_json, validate_one
from minicrm.edge.responses import json_response
from minicrm.edge.schemas import JourneyIn
from minicrm.edge.state import AI_SERVICE, POOL, PUBLISHER
from minicrm.records import CampaignDone, CampaignRequest

COUNTERS = ("pending_count", "sent_count", "failed_count")


async def create(request: web.Request) -> web.Response:
    journey = validate_one(JourneyIn, await read_json(request))
    owner = current_user(request) or journey.userId
    if owner is None:
        raise InvalidInput([{"field": "userId", "message": "Field required"}])
    segment = journey.trigger.ruleGroup or {}
    journey_id = uuid.uuid4()
    campaign = CampaignRequest(
        id=str(journey_id),
        user_id=owner,
        name=f"Journey: {journey.name}",
        segment=segment,
        message=journey.message,
        intent=await request.app[AI_SERVICE].intent(segment),
    )
    async with request.app[POOL].acquire() as conn, conn.transaction():
        await sql.campaigns.create(conn, campaign.row(states.RUNNING))
        values = (journey_id, owner, journey.name, *journey.row_values().values(), journeys.ACTIVE)
        await sql.journeys.create(conn, values)
    return json_response({"journeyId": str(journey_id), "status": journeys.ACTIVE}, status=201)


def journey_uuid(request: web.Request) -> uuid.UUID:
    return campaign_uuid(request.match_info["id"])


def view(row: asyncpg.Record) -> dict[str, Any]:
    """A journey as the API shows it; with its figures when `row` has them (`sql.journeys.one`)."""
    shown: dict[str, Any] = {
        "id": str(row["id"]),
        "userId": row["user_id"],
        "name": row["name"],
        "status": row["status"],
        "trigger": {"type": row["trigger_type"], "ruleGroup": row["rule_group"]},
        "message": row["message"],
        "delaySeconds": row["delay_seconds"],
        "reentry": row["reentry"],
        "cooldownDays": row["cooldown_days"],
        "quietHours": row["quiet_hours"],
        "includeExisting": row["include_existing"],
        "started": row["started_at"] is not None,
        "createdAt": row["created_at"],
    }
    if "entered_count" in row:
        # An entry's message skipped for an opt-out or the cap is counted by its campaign (so is one
        # skipped at send time, whose entry was messaged): those reasons are the campaign's figures.
        message_reasons = (states.OPTED_OUT, states.FREQUENCY_CAPPED)
        skipped = {reason: n for reason, n in row["skipped"].items() if reason not in message_reasons}
        for reason, n in ((states.OPTED_OUT, row["suppressed_count"]), (states.FREQUENCY_CAPPED, row["capped_count"])):
            if n:
                skipped[reason] = n
        shown |= {
            "entered_count": row["entered_count"],
            "sent_count": row["sent_count"],
            "failed_count": row["failed_count"],
            # entries waiting for their time, and messages waiting for their receipt
            "pending_count": row["waiting_count"] + row["pending_count"],
            "skipped_count": sum(skipped.values()),
            "skipped": skipped,
            "last_entry_at": row["last_entry_at"],
        }
    return shown


async def list_journeys(request: web.Request) -> web.Response:
    rows = await sql.journeys.of_user(request.app[POOL], scope(request))
    return json_response([view(r) for r in rows])


async def get(request: web.Request) -> web.Response:
    return json_response(await one(request, journey_uuid(request)))


async def one(request: web.Request, journey_id: uuid.UUID) -> dict[str, Any]:
    return view(await sql.journeys.one(request.app[POOL], journey_id, scope(request)))


async def set_status(request: web.Request, status: str, allowed_from: tuple[str, ...]) -> web.Response:
    journey_id = journey_uuid(request)
    current = await one(request, journey_id)
    if current["status"] not in allowed_from:
        raise Conflict(f"the journey is {current['status']}")
    delivered = False
    async with request.app[POOL].acquire() as conn, conn.transaction():
        await sql.journeys.set_status(conn, journey_id, scope(request), status)
        if status == journeys.DELETED:
            delivered = await sql.journeys.end(conn, journey_id)
    if delivered:
        done = CampaignDone(campaign_id=str(journey_id))
        await request.app[PUBLISHER].publish(topics.SUMMARIES, [(done.campaign_id, done)])
    return json_response(await one(request, journey_id))


async def pause(request: web.Request) -> web.Response:
    return await set_status(request, journeys.PAUSED, (journeys.ACTIVE,))


async def resume(request: web.Request) -> web.Response:
    return await set_status(request, journeys.ACTIVE, (journeys.PAUSED,))


async def delete(request: web.Request) -> web.Response:
    return await set_status(request, journeys.DELETED, (journeys.ACTIVE, journeys.PAUSED))
