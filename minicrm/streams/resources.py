"""Connections a worker opens once and shares between its agents."""

from __future__ import annotations

import asyncpg

from minicrm.db import create_pool
from minicrm.streams.app import settings

_pool: asyncpg.Pool | None = None


async def pool() -> asyncpg.Pool:
    global _pool
    if _pool is None:
        _pool = await create_pool(settings.database_url, max_size=8)
    return _pool

