"""List reads: one shape for every list endpoint, with the total in `X-Total-Count`.

A request with a page (`limit`, `offset`, `page` or `pageSize`) gets that page. One without
gets every match, as the original API answered and its clients count, streamed from a
server-side cursor so memory stays flat, up to a cap; past the cap the body holds the
first `cap` rows and `X-Result-Capped: <cap>` says so.
"""

from __future__ import annotations

from typing import Any, Callable

import asyncpg
from aiohttp import web

from minicrm.edge.requests import Page
from minicrm.edge.responses import dumps, json_response

CHUNK = 1000  # rows per cursor fetch and per write


async def listing(
    request: web.Request, pool: asyncpg.Pool, page: Page, *, select: str, source: str, where: str,
    params: list[Any], order: str, shape: Callable[[Any], dict[str, Any]] = dict,
) -> web.StreamResponse:
    n = len(params)
    query = f"SELECT {select} FROM {source} WHERE {where} ORDER BY {order} LIMIT ${n + 1} OFFSET ${n + 2}"
    async with pool.acquire() as conn:
        total = await conn.fetchval(f"SELECT count(*) FROM {source} WHERE {where}", *params)
        if not page.unpaged:
            rows = await conn.fetch(query, *params, page.limit, page.offset)
            return json_response([shape(r) for r in rows], headers={"X-Total-Count": str(total)})
        headers = {"X-Total-Count": str(total), "Content-Type": "application/json"}
        if total > page.limit:
            headers["X-Result-Capped"] = str(page.limit)
        response = web.StreamResponse(headers=headers)
        await response.prepare(request)
        await response.write(b"[")
        rows: list[dict[str, Any]] = []
        separator = b""
        async with conn.transaction():  # a cursor lives in a transaction
            async for row in conn.cursor(query, *params, page.limit, 0, prefetch=CHUNK):
                rows.append(shape(row))
                if len(rows) == CHUNK:
                    await response.write(separator + dumps(rows)[1:-1])  # the rows without their brackets
                    rows, separator = [], b","
        if rows:
            await response.write(separator + dumps(rows)[1:-1])
        await response.write(b"]")
        await response.write_eof()
        return response
