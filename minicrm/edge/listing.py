"""Paged reads: one shape for every list endpoint, with the total in `X-Total-Count`."""

from __future__ import annotations

from typing import Any, Callable

import asyncpg
from aiohttp import web

from minicrm.edge.responses import json_response


async def paged(
    pool: asyncpg.Pool, *, select: str, source: str, where: str, params: list[Any],
    order: str, limit: int, offset: int, shape: Callable[[dict[str, Any]], dict[str, Any]] = dict,
) -> web.Response:
    n = len(params)
    async with pool.acquire() as conn:
        total = await conn.fetchval(f"SELECT count(*) FROM {source} WHERE {where}", *params)
        rows = await conn.fetch(
            f"SELECT {select} FROM {source} WHERE {where} ORDER BY {order} LIMIT ${n + 1} OFFSET ${n + 2}",
            *params, limit, offset,
        )
    return json_response([shape(dict(r)) for r in rows], headers={"X-Total-Count": str(total)})
