"""The Gemini provider through the google-genai SDK, asking for JSON with a response schema."""

from __future__ import annotations

from typing import Any

import orjson
from google import genai
from google.genai import types

from minicrm.settings import Settings

INTENT_SCHEMA = {"type": "OBJECT", "properties": {"intent": {"type": "STRING"}}, "required": ["intent"]}
SUMMARY_SCHEMA = {"type": "OBJECT", "properties": {"summary": {"type": "STRING"}}, "required": ["summary"]}
SUGGESTIONS_SCHEMA = {
    "type": "OBJECT",
    "properties": {"suggestions": {"type": "ARRAY", "items": {"type": "STRING"}, "minItems": 3, "maxItems": 3}},
    "required": ["suggestions"],
}
ATTRIBUTES = ["total_spend", "visit", "city", "last_order_date", "orders_within", "spend_within"]
_RULE = {
    "type": "OBJECT",
    "properties": {
        "attribute": {"type": "STRING", "enum": ATTRIBUTES},
        "operator": {"type": "STRING", "enum": [">", "<", "=", ">=", "<=", "!="]},
        "value": {"type": "STRING"},
        "days": {"type": "INTEGER", "minimum": 1, "maximum": 365},
        "combinator": {"type": "STRING", "enum": ["AND", "OR"]},
        "rules": {
            "type": "ARRAY",
            "items": {
                "type": "OBJECT",
                "properties": {
                    "attribute": {"type": "STRING"},
                    "operator": {"type": "STRING"},
                    "value": {"type": "STRING"},
                    "days": {"type": "INTEGER"},
                },
            },
        },
    },
}
RULE_GROUP_SCHEMA = {
    "type": "OBJECT",
    "properties": {"combinator": {"type": "STRING", "enum": ["AND", "OR"]}, "rules": {"type": "ARRAY", "items": _RULE}},
    "required": ["combinator", "rules"],
}

RULES_HELP = (
    "Attributes: total_spend (number, money), visit (number of visits), city (string), last_order_date "
    "(a number of days N: '<' N means last order more than N days ago, '>' N means ordered within the last N "
    "days), orders_within (how many completed orders the customer placed in the last `days` days) and "
    "spend_within (their amount, money), each with an integer `days` from 1 to 365 that no other attribute "
    "takes: 'ordered 3 times this month' is orders_within >= 3 with days 30, 'spent more than 5000 in the "
    "last 7 days' is spend_within > 5000 with days 7. Operators for numbers: > < = >= <= !=; for city: = "
    "and !=. Values are strings."
)


class GeminiProvider:
    def __init__(self, settings: Settings) -> None:
        options = types.HttpOptions(
            timeout=int(settings.ai_timeout * 1000),
            retry_options=types.HttpRetryOptions(attempts=1),
            base_url=settings.gemini_base_url or None,
        )
        self.client = genai.Client(api_key=settings.gemini_api_key, http_options=options)
        self.model = settings.gemini_model

    async def _json(self, prompt: str, schema: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.aio.models.generate_content(
            model=self.model,
            contents=prompt,
            config=types.GenerateContentConfig(
                response_mime_type="application/json", response_schema=schema, temperature=0.2
            ),
        )
        data = orjson.loads(response.text or "")
        if not isinstance(data, dict):
            raise ValueError("model answered JSON that is not an object")
        return data

    async def intent(self, tree: Any) -> str:
        data = await self._json(
            "Describe in one plain English sentence which customers this segment selects. "
            f"{RULES_HELP}\nSegment: {orjson.dumps(tree).decode()}",
            INTENT_SCHEMA,
        )
        return str(data["intent"])

    async def summary(self, name: str, stats: dict[str, Any]) -> str:
        data = await self._json(
            f'Summarise the marketing campaign "{name}" for its owner in three sentences: reach, delivery '
            f"rate, and the most notable segment difference. Statistics: {orjson.dumps(stats).decode()}",
            SUMMARY_SCHEMA,
        )
        return str(data["summary"])

    async def suggestions(self, name: str, objective: str) -> list[str]:
        data = await self._json(
            f'Write three short marketing messages for the campaign "{name}" with the objective "{objective}". '
            "You may personalise with {{name}}, {{email}}, {{city}} and {{phone}} and no other placeholder.",
            SUGGESTIONS_SCHEMA,
        )
        return [str(s) for s in data["suggestions"]]

    async def rule_group(self, query: str) -> dict[str, Any] | None:
        return await self._json(
            f"Turn this audience description into a rule group. {RULES_HELP}\nDescription: {query}",
            RULE_GROUP_SCHEMA,
        )
