"""The one AI interface the edge and the pipeline call; it never raises and never blocks long."""

from __future__ import annotations

import logging
from typing import Any

from minicrm.ai import local
from minicrm.settings import Settings

log = logging.getLogger(__name__)


class AI:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def intent(self, tree: Any) -> str:
        return local.intent(tree, self.settings.currency)

    async def summary(self, name: str, stats: dict[str, Any]) -> str:
        return local.summary(name, stats)
