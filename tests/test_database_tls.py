"""PostgreSQL's TLS is the DSN's to ask for (`sslmode`, `sslrootcert` in MINICRM_DATABASE_URL, as
libpq reads them): asyncpg honours them on every path the project connects by. The local cluster
speaks no TLS, so a DSN that requires it is refused, which shows the DSN's word is taken."""

from __future__ import annotations

import asyncpg
import pytest

from minicrm.db import create_pool, migrate

pytestmark = pytest.mark.integration

DSN = "postgresql://minicrm@127.0.0.1:5433/minicrm"


@pytest.mark.parametrize("connect", [asyncpg.connect, create_pool, migrate])
async def test_sslmode_require_is_honoured(stack, connect):
    with pytest.raises(ConnectionError, match="rejected SSL upgrade"):
        await connect(f"{DSN}?sslmode=require")


async def test_sslmode_disable_and_prefer_connect_without_tls(stack):
    for mode in ("disable", "prefer"):
        pool = await create_pool(f"{DSN}?sslmode={mode}", max_size=1)
        try:
            assert await pool.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") is False
        finally:
            await pool.close()
