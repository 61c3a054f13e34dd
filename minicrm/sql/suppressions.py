"""The suppression (opt-out) list: kept by users, and added to from the vendor's receipts."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from minicrm.sql.errors import NotFound
from minicrm.sql.planning import Db

INSERT = """
INSERT INTO suppressions AS s (email, reason, source)
SELECT * FROM unnest($1::text[], $2::text[]) AS t(email, reason), (VALUES ('user')) AS v(source)
ON CONFLICT (email) DO UPDATE SET reason = excluded.reason, source = excluded.source
"""
COLUMNS = 's.email, s.reason, s.source, s.created_at AS "createdAt"'
DELETE = "DELETE FROM suppressions WHERE email = $1"

# The opted-out recipients of these messages ($1), with the vendor's reasons ($2).
SUPPRESS_RECIPIENTS = """
INSERT INTO suppressions (email, reason, source)
SELECT DISTINCT ON (l.email) l.email, r.reason, 'vendor'
FROM unnest($1::uuid[], $2::text[]) AS r(id, reason) JOIN communication_log l ON l.id = r.id
ON CONFLICT (email) DO NOTHING
"""


async def add(db: Db, emails: list[str], reasons: list[str | None]) -> str:
    """A user's suppressions: each email with its reason, replacing the reason of one listed."""
    return await db.execute(INSERT, emails, reasons)


async def delete(db: Db, email: str) -> None:
    """Takes `email` off the list; NotFound if it is not on it."""
    if (await db.execute(DELETE, email)).endswith(" 0"):
        raise NotFound(f"{email} is not on the suppression list")


async def suppress_recipients(db: Db, message_ids: Sequence[str | UUID], reasons: Sequence[str]) -> str:
    """The recipients of these messages, opted out by the vendor, unless listed already."""
    return await db.execute(SUPPRESS_RECIPIENTS, message_ids, reasons)
