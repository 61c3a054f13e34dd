"""Campaign requests as the edge makes them, for tests that write a campaign's rows directly."""

from __future__ import annotations

import uuid
from typing import Any

from minicrm.records import CampaignRequest


def city_campaign(city: str, **fields: Any) -> CampaignRequest:
    """A request for a campaign to the customers of `city` (`fields` override the rest)."""
    return CampaignRequest(
        **{
            "id": str(uuid.uuid4()),
            "user_id": "u",
            "name": "n",
            "intent": "",
            "message": "Hi {{name}}",
            "segment": {"combinator": "AND", "rules": [{"attribute": "city", "operator": "=", "value": city}]},
            **fields,
        }
    )
