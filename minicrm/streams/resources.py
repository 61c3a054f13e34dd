"""What a worker opens once and shares between its agents: the PostgreSQL pool, the HTTP
session to the vendor and the AI client, each opened on first use (agents start before any
app service would) and closed when the app stops; and what the fan-out learns as it runs."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from uuid import UUID

import aiohttp
import asyncpg

from minicrm.ai.service import AI
from minicrm.db import create_pool
from minicrm.error_window import ErrorWindow
from minicrm.ratelimit import TokenBucket
from minicrm.settings import Settings
from minicrm.streams.app import app, settings


@dataclass
class FanOutState:
    """What the fan-out learns while the worker runs (`streams.deliveries`)."""

    vendor_rate: TokenBucket
    """This worker's share of the vendor-wide rate of calls (`deliveries.vendor_rate`)."""
    errors: ErrorWindow
    """This worker's recent vendor calls, failed or not."""
    gates: dict[UUID, tuple[float, asyncpg.Record | None]] = field(default_factory=dict)
    """Per campaign, its state row and when it was read (`deliveries.campaign_state`)."""
    campaign_rates: dict[UUID, TokenBucket] = field(default_factory=dict)
    """Per campaign with a `rate_per_second`, its limiter."""
    handed: dict[UUID, float] = field(default_factory=dict)
    """Per campaign, when this worker last noted that the vendor took a call of it."""


class Resources:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ai = AI(settings)
        self.fan_out = FanOutState(
            TokenBucket(settings.vendor_rate),
            ErrorWindow(settings.vendor_error_window, settings.vendor_error_threshold),
        )
        self._pool: asyncpg.Pool | None = None
        self._http: aiohttp.ClientSession | None = None
        self._opening = asyncio.Lock()

    async def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:  # agents ask at once when the worker starts: one pool
                if self._pool is None:
                    self._pool = await create_pool(self.settings.database_url, max_size=8)
        return self._pool

    def http(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.settings.vendor_timeout))
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
        if self._pool is not None:
            await self._pool.close()
        self._http = self._pool = None


resources = Resources(settings)


@app.on_before_shutdown.connect
async def close_resources(sender, **kwargs) -> None:
    await resources.close()


async def pool() -> asyncpg.Pool:
    return await resources.pool()
