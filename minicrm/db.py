"""PostgreSQL access: the connection pool and the migration runner."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import asyncpg
import orjson

from minicrm import sql
from minicrm.sql.locks import Lock

MIGRATIONS = Path(__file__).parent / "sql" / "migrations"
log = logging.getLogger(__name__)


async def _init_connection(conn: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(
            name, encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads, schema="pg_catalog"
        )
    await sql.customers.create_staging(conn)


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        # JIT compiles each batch statement anew, which costs more than it gains on statements
        # that touch thousands of rows by index.
        server_settings={"timezone": "UTC", "application_name": "minicrm", "jit": "off"},
    )


NO_TRANSACTION = "-- minicrm: no transaction"


async def migrate(dsn: str) -> list[str]:
    """Applies each numbered migration once, in order; returns the names applied now.

    A migration runs in one transaction, unless its first line is `-- minicrm: no transaction`:
    then each of its statements (one per `;` at a line's end) runs on its own, which
    `CREATE INDEX CONCURRENTLY` needs, to build an index on a live table without blocking its
    writes. Such a file must be safe to run again after a failure part-way (a failed concurrent
    build leaves an invalid index: drop it `IF EXISTS` before creating it)."""
    conn = await asyncpg.connect(dsn)
    applied_now: list[str] = []
    try:
        await conn.execute(f"SELECT pg_advisory_lock({Lock.MIGRATIONS:d})")
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
        for path in sorted(MIGRATIONS.glob("*.sql")):
            if path.name in done:
                continue
            text = path.read_text()
            if text.startswith(NO_TRANSACTION):
                for statement in statements(text):
                    await conn.execute(statement)
                await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", path.name)
            else:
                async with conn.transaction():
                    await conn.execute(text)
                    await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", path.name)
            applied_now.append(path.name)
            log.info("applied migration %s", path.name)
    finally:
        await conn.close()
    return applied_now


def statements(text: str) -> list[str]:
    """A migration's statements: each ends with `;` at the end of a line (comments dropped)."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in re.split(r";\s*$", "\n".join(lines), flags=re.MULTILINE) if s.strip()]
