"""The live view's tables: a campaign's one-second windows (`campaign_timeline`) and the
vendor's calls across workers (`vendor_health`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from minicrm import campaign_states as states
from minicrm.sql.planning import Db

# The live view's one-second windows (absolute values from its tables: a repeated flush is harmless).
UPSERT_TIMELINE = """
INSERT INTO campaign_timeline AS t (campaign_id, window_start, sent, failed)
SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::int[], $4::int[])
ON CONFLICT (campaign_id, window_start) DO UPDATE SET sent = excluded.sent, failed = excluded.failed
"""

UPSERT_VENDOR_HEALTH = """
INSERT INTO vendor_health AS v (vendor, ok, failed, window_seconds, updated_at)
SELECT *, now() FROM unnest($1::text[], $2::int[], $3::int[], $4::real[])
ON CONFLICT (vendor) DO UPDATE SET ok = excluded.ok, failed = excluded.failed,
    window_seconds = excluded.window_seconds, updated_at = now()
"""

# The vendor's calls over the live view's hopping window, across workers, if fresh.
VENDOR_HEALTH = """
SELECT ok, failed, window_seconds FROM vendor_health
WHERE vendor = $1 AND updated_at > now() - make_interval(secs => $2)
"""

# What an operator sees of the vendors: each one's calls, its learnt body limit, and the
# campaigns its failures paused (minicrm/edge/vendor_health.py).
VENDORS = """
SELECT coalesce(h.vendor, l.vendor) AS vendor, h.ok, h.failed, h.window_seconds, h.updated_at,
       l.max_bytes AS learnt_max_bytes, l.learnt_at
FROM vendor_health h FULL JOIN vendor_limits l ON l.vendor = h.vendor
ORDER BY 1
"""

PAUSED_BY_VENDOR = f"""
SELECT c.id, c.name, c.user_id AS "userId", c.pause_reason, c.created_at AS "createdAt"
FROM campaigns c WHERE c.status = '{states.PAUSED}' AND c.paused_by = '{states.VENDOR}'
ORDER BY c.created_at DESC LIMIT 100
"""

TIMELINE = """
SELECT window_start, sent, failed FROM campaign_timeline WHERE campaign_id = $1 ORDER BY window_start
"""


async def upsert_timeline(
    db: Db, campaign_ids: list[UUID], window_starts: list[datetime], sent: list[int], failed: list[int]
) -> str:
    return await db.execute(UPSERT_TIMELINE, campaign_ids, window_starts, sent, failed)


async def upsert_vendor_health(
    db: Db, vendors: list[str], ok: list[int], failed: list[int], window_seconds: list[float]
) -> str:
    return await db.execute(UPSERT_VENDOR_HEALTH, vendors, ok, failed, window_seconds)


async def vendor_health(db: Db, vendor: str, fresh: float) -> asyncpg.Record | None:
    """(ok, failed, window_seconds) of the vendor, if written in the last `fresh` seconds."""
    return await db.fetchrow(VENDOR_HEALTH, vendor, fresh)


async def timeline(conn: Db, campaign_id: UUID) -> list[dict[str, Any]]:
    """The campaign's one-second windows, oldest first."""
    return [dict(t) for t in await conn.fetch(TIMELINE, campaign_id)]


async def vendors(db: Db) -> list[asyncpg.Record]:
    """Every vendor's calls over the live view's window and its learnt body limit, by name."""
    return await db.fetch(VENDORS)


async def paused_by_vendor(db: Db) -> list[asyncpg.Record]:
    """The campaigns paused because the vendor failed (they resume when a call succeeds), newest first."""
    return await db.fetch(PAUSED_BY_VENDOR)
