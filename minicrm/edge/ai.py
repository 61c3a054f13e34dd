"""`POST /api/ai/campaign` (three message suggestions, also as variants) and `POST /api/ai/dynamic`
(words to rules)."""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from minicrm.ai.service import NotUnderstood
from minicrm.edge.errors import ApiError
from minicrm.edge.requests import read_json, validate_one
from minicrm.edge.responses import json_response
from minicrm.edge.schemas import Body
from minicrm.edge.state import AI_SERVICE


class CampaignIdea(Body):
    campaignName: str = Field(min_length=1, max_length=200)
    campaignObjective: str = Field(min_length=1, max_length=1000)


class Query(Body):
    query: str = Field(min_length=1, max_length=1000)


class Unprocessable(ApiError):
    status, error = 422, "not understood"


async def suggest(request: web.Request) -> web.Response:
    """Three messages, also as the `variants` of a campaign (A, B, C) for an A/B test."""
    idea = validate_one(CampaignIdea, await read_json(request))
    suggestions = await request.app[AI_SERVICE].suggestions(idea.campaignName, idea.campaignObjective)
    variants = [{"name": chr(ord("A") + i), "message": m} for i, m in enumerate(suggestions)]
    return json_response({"suggestions": suggestions, "variants": variants})


async def dynamic(request: web.Request) -> web.Response:
    query = validate_one(Query, await read_json(request))
    try:
        group = await request.app[AI_SERVICE].rule_group(query.query)
    except NotUnderstood as exc:
        raise Unprocessable(str(exc)) from None
    return json_response({"ruleGroup": group})
