"""List reads: one shape for every list endpoint, with the total in `X-Total-Count`.

A request with a page (`limit`, `offset`, `page`, `pageSize` or `cursor`) gets that page; a
full page also answers `X-Next-Cursor`, the position after its last row, which `?cursor=`
continues from: keyset paging, which an index finds at any depth, where a deep `offset` reads
and skips every row before it. One without gets every match, as the original API answered
and its clients count, streamed from a server-side cursor so memory stays flat, up to a cap;
past the cap the body holds the first `cap` rows and `X-Result-Capped: <cap>` says so.

Totals are counted exactly up to a cap (`Settings.exact_count_cap`, or the unpaged cap when
larger); past it `X-Total-Count` is the planner's estimate and `X-Total-Count-Estimated:
true` says so. `?count=exact` asks for the exact total whatever it costs (a client that waits
for a number of rows to be stored needs it: an estimate follows PostgreSQL's statistics, which
lag behind a table filling up). An endpoint that knows the exact total (a campaign's counters)
passes it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson
from aiohttp import web

from minicrm import sql
from minicrm.edge.errors import InvalidInput
from minicrm.edge.requests import Page
from minicrm.edge.responses import dumps, json_response
from minicrm.edge.state import SETTINGS

CHUNK = 1000  # rows per cursor fetch and per write
PARSE: dict[str, Callable[[Any], Any]] = {
    "timestamptz": datetime.fromisoformat,
    "uuid": UUID,
    "text": str,
    "bigint": int,
}


@dataclass(frozen=True)
class SortOrder:
    """A list's order: columns (SQL expression, SQL type) that together are unique, all ascending
    or all descending, so that a row's position is a row comparison an index can start at."""

    keys: tuple[tuple[str, str], ...]
    descending: bool = False

    def sql(self) -> str:
        return ", ".join(f"{expr}{' DESC' if self.descending else ''}" for expr, _ in self.keys)

    def after(self, first_param: int) -> str:
        """The condition for rows after the cursor's row, its values from `$first_param`."""
        columns = ", ".join(expr for expr, _ in self.keys)
        values = ", ".join(f"${first_param + i}::{kind}" for i, (_, kind) in enumerate(self.keys))
        return f"({columns}) {'<' if self.descending else '>'} ({values})"

    def selected(self) -> str:
        return ", ".join(f"{expr} AS _key{i}" for i, (expr, _) in enumerate(self.keys))

    def cursor(self, row: Any) -> str:
        values = [row[f"_key{i}"] for i in range(len(self.keys))]
        text = orjson.dumps([v.isoformat() if isinstance(v, datetime) else str(v) for v in values])
        return base64.urlsafe_b64encode(text).decode().rstrip("=")

    def decode(self, cursor: str) -> list[Any]:
        try:
            values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            if not isinstance(values, list) or len(values) != len(self.keys):
                raise ValueError("wrong length")
            return [PARSE[kind](value) for value, (_, kind) in zip(values, self.keys, strict=True)]
        except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
            raise InvalidInput(
                [{"field": "cursor", "message": "not a cursor of this list (use X-Next-Cursor)"}]
            ) from None


async def listing(
    request: web.Request,
    pool: asyncpg.Pool,
    page: Page,
    *,
    select: str,
    source: str,
    where: str,
    params: list[Any],
    order: SortOrder,
    shape: Callable[[Any], dict[str, Any]] = dict,
    total: int | None = None,
    in_index_order: bool = False,
) -> web.StreamResponse:
    """The page (or every match) of `source`'s rows. `in_index_order`: `where` fixes the leading
    columns of an index that goes on in `order`, and the rows are read by walking it (see
    `sql.planning.IN_INDEX_ORDER`), not read in full and sorted on a stale estimate."""
    matching, params = where, list(params)
    after = order.decode(page.cursor) if page.cursor is not None else []  # a bad cursor is a 400 in any case
    if total == 0:  # nothing to read (a campaign's counters say so)
        return json_response([], headers={"X-Total-Count": "0"})
    if after:
        where = f"({where}) AND {order.after(len(params) + 1)}"
    paged = params + after
    n = len(paged)
    query = (
        f"SELECT {select}, {order.selected()} FROM {source} WHERE {where} ORDER BY {order.sql()}"
        f" LIMIT ${n + 1} OFFSET ${n + 2}"
    )
    async with pool.acquire() as conn, conn.transaction():
        if in_index_order:
            await sql.planning.set_local(conn, sql.planning.IN_INDEX_ORDER)
        cap = (
            None
            if request.query.get("count") == "exact"
            else max(request.app[SETTINGS].exact_count_cap, page.limit if page.unpaged else 0)
        )
        headers = await total_headers(conn, source, matching, params, total, cap)
        if not page.unpaged:
            rows = await conn.fetch(query, *paged, page.limit, page.offset)
            if len(rows) == page.limit:
                headers["X-Next-Cursor"] = order.cursor(rows[-1])
            return json_response([without_keys(shape(r)) for r in rows], headers=headers)
        headers["Content-Type"] = "application/json"
        if int(headers["X-Total-Count"]) > page.limit:
            headers["X-Result-Capped"] = str(page.limit)
        response = web.StreamResponse(headers=headers)
        await response.prepare(request)
        await response.write(b"[")
        chunk: list[dict[str, Any]] = []
        separator = b""
        async for row in conn.cursor(query, *paged, page.limit, 0, prefetch=CHUNK):  # in the transaction
            chunk.append(without_keys(shape(row)))
            if len(chunk) == CHUNK:
                await response.write(separator + dumps(chunk)[1:-1])  # the rows without their brackets
                chunk, separator = [], b","
        if chunk:
            await response.write(separator + dumps(chunk)[1:-1])
        await response.write(b"]")
        await response.write_eof()
        return response


def without_keys(row: dict[str, Any]) -> dict[str, Any]:
    for name in [k for k in row if k.startswith("_key")]:
        del row[name]
    return row


async def total_headers(
    conn: asyncpg.Connection, source: str, where: str, params: list[Any], total: int | None, cap: int | None
) -> dict[str, str]:
    """`X-Total-Count`: `total` when given; else counted up to `cap` (None: all); else the
    planner's estimate."""
    if total is not None:
        return {"X-Total-Count": str(total)}
    limit = "" if cap is None else f" LIMIT {cap + 1}"
    counted = await conn.fetchval(f"SELECT count(*) FROM (SELECT 1 FROM {source} WHERE {where}{limit}) m", *params)
    if cap is None or counted <= cap:
        return {"X-Total-Count": str(counted)}
    estimate = round((await sql.planning.plan(conn, source, where, params))["Plan Rows"])
    return {"X-Total-Count": str(max(estimate, counted)), "X-Total-Count-Estimated": "true"}
