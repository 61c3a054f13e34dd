"""`POST /api/campaigns` (the ticket) and `POST /api/campaigns/get` (list, one, or preview)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg
from aiohttp import web

from minicrm import campaign_states as states
from minicrm import experiments, sql, topics
from minicrm.edge.auth import current_user, scope
from minicrm.edge.errors import ApiError, InvalidInput
from minicrm.edge.listing import SortOrder, listing
from minicrm.edge.requests import page, read_json, segment_condition, validate_one
from minicrm.edge.responses import json_response
from minicrm.edge.schemas import CampaignIn
from minicrm.edge.state import AI_SERVICE, POOL, PUBLISHER, SETTINGS
from minicrm.records import CampaignRequest

PREVIEW_SAMPLE = 10
NEWEST_FIRST = SortOrder((("c.created_at", "timestamptz"), ("c.id", "uuid")), descending=True)


async def create(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    campaign = validate_one(CampaignIn, await read_json(request))
    owner = current_user(request) or campaign.userId
    if owner is None:
        raise InvalidInput([{"field": "userId", "message": "Field required"}])
    intent = await request.app[AI_SERVICE].intent(campaign.ruleGroup)
    condition, params = segment_condition(campaign.ruleGroup)
    async with request.app[POOL].acquire() as conn:
        counts = await sql.segments.counts(conn, condition, params, settings.cap, settings.count_time_limit)
    record = CampaignRequest(
        id=str(uuid.uuid4()),
        user_id=owner,
        name=campaign.name,
        segment=campaign.ruleGroup,
        message=campaign.message or "",
        intent=intent,
        rate_per_second=campaign.ratePerSecond,
        attribution_days=campaign.attributionDays,
        holdout_percent=campaign.holdoutPercent,
        variants=campaign.variant_list(),
        ab_test=campaign.abTest.model_dump() if campaign.abTest else None,
    )
    held_out = counts["audience"] * campaign.holdoutPercent // 100  # about so many: drawn by hash
    status = await submit(request, record, campaign.sendAt, counts["audience"] - held_out)
    return json_response(
        {
            "message": "campaign accepted; it runs in the pipeline",
            "campaignId": record.id,
            "audience_size": counts["audience"] - held_out,
            "holdout_size": held_out,
            "audience_estimated": counts["estimated"],
            "excluded": excluded(counts),
            "intent": intent,
            "status": status,
            "sendAt": campaign.sendAt,
        },
        status=201,
    )


async def submit(
    request: web.Request, record: CampaignRequest, send_at: datetime | None = None, expected: int | None = None
) -> str:
    """Stores the campaign's row and publishes its request (a scheduled one: the scheduler does,
    when due); answers its status. The row is the ticket: it exists before the answer, so the
    campaign can be read at once; the worker's own insert of it does nothing. Nothing queued,
    nothing kept. `expected`: the audience the edge counted, read until segmentation has counted it."""
    db = request.app[POOL]
    status = states.SCHEDULED if send_at else states.QUEUED
    await sql.campaigns.create(db, record.row(status, send_at), expected)
    if status == states.QUEUED:
        try:
            await publish_request(request, record)
        except ApiError:
            await sql.campaigns.delete_unstarted(db, uuid.UUID(record.id))
            raise
    return status


async def publish_request(request: web.Request, record: CampaignRequest) -> None:
    """The campaign's request on its topic, for the worker that runs it."""
    await request.app[PUBLISHER].publish(topics.CAMPAIGNS, [(record.id, record)])


def excluded(counts: dict[str, int]) -> dict[str, int]:
    """The segment's customers that are not messaged, by reason."""
    return {"opted_out": counts["opted_out"], "frequency_capped": counts["frequency_capped"]}


def _ratio(part: int, whole: int | None) -> float | None:
    return round(part / whole, 4) if whole else None


def _rates(record: Any) -> dict[str, Any]:
    row = dict(record)
    done = row["sent_count"] + row["failed_count"]
    row["delivery_rate"] = _ratio(row["sent_count"], done)
    row["progress"] = _ratio(done, row["audience_size"])
    row["conversion_rate"] = _ratio(row["conversions"], row["sent_count"])
    lift = experiments.lift(row["conversions"], row["sent_count"], row["holdout_conversions"], row["holdout_size"])
    row["lift"] = round(lift.difference, 4) if lift else None
    row["lift_interval"] = [round(lift.low, 4), round(lift.high, 4)] if lift else None
    for variant in row["variants"] or []:
        variant["conversion_rate"] = _ratio(variant["conversions"], variant["sent_count"])
    return row


def campaign_uuid(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise InvalidInput("campaignId must be a UUID") from None


async def one(request: web.Request, campaign_id: Any) -> web.Response:
    async with request.app[POOL].acquire() as conn:
        return json_response(await view(conn, campaign_uuid(campaign_id), scope(request)))


async def view(conn: asyncpg.Connection, campaign_id: uuid.UUID, user: str | None) -> dict[str, Any]:
    """The campaign as its read shows it: counters, rates, timeline, summary."""
    campaign = _rates(await sql.campaigns.owned(conn, campaign_id, user, sql.campaigns.COLUMNS))
    campaign["timeline"] = await sql.live.timeline(conn, campaign_id)
    campaign["current_rate_per_second"] = current_rate(campaign["timeline"])
    return campaign


def current_rate(timeline: list[dict[str, Any]], span: float = 5.0) -> float | None:
    """Outcomes per second over the last `span` seconds of one-second windows."""
    if not timeline:
        return None
    last = timeline[-1]["window_start"]
    recent = [t for t in timeline if (last - t["window_start"]).total_seconds() < span]
    seconds = (last - recent[0]["window_start"]).total_seconds() + 1
    return round(sum(t["sent"] + t["failed"] for t in recent) / seconds, 1)


async def preview(request: web.Request, tree: Any) -> web.Response:
    condition, params = segment_condition(tree)
    settings = request.app[SETTINGS]
    async with request.app[POOL].acquire() as conn:
        counts = await sql.segments.counts(conn, condition, params, settings.cap, settings.count_time_limit)
        sample = await sql.segments.sample(conn, condition, params, PREVIEW_SAMPLE)
    intent = await request.app[AI_SERVICE].intent(tree)
    return json_response(
        {
            "audience_size": counts["audience"],
            "audience_estimated": counts["estimated"],
            "excluded": excluded(counts),
            "sample": sample,
            "intent": intent,
            "full_scan": counts["full_scan"],
        }
    )


async def get(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise InvalidInput("expected a JSON object: {userId}, {campaignId}, {ruleGroup} or {}")
    settings = request.app[SETTINGS]
    listed = page(request, settings)  # checked whatever the body, as the OpenAPI document says
    if listed.cursor is not None:
        NEWEST_FIRST.decode(listed.cursor)
    if "campaignId" in body:
        return await one(request, body["campaignId"])
    if "ruleGroup" in body:
        return await preview(request, body["ruleGroup"])
    user_id = body.get("userId")
    if user_id is not None and not isinstance(user_id, str):
        raise InvalidInput("userId must be a string")
    if scope(request) is not None:
        user_id = scope(request)  # a marketer sees their own campaigns only; an operator everyone's, or one user's
    where, params = ("c.user_id = $1", [user_id]) if user_id else ("TRUE", [])
    return await listing(
        request,
        request.app[POOL],
        listed,
        select=sql.campaigns.COLUMNS,
        source="campaigns c",
        where=where,
        params=params,
        order=NEWEST_FIRST,
        shape=_rates,
    )
