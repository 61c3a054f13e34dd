"""Folding a batch of receipts: one outcome per message, the first one seen.

A log row moves from PENDING once, so among duplicates only the first receipt can
matter; keeping it here keeps every commId once in the SQL batch.
"""

from __future__ import annotations

from typing import Any, Iterable
from uuid import UUID

OUTCOMES = ("SENT", "FAILED")


def fold(receipts: Iterable[dict[str, Any]]) -> tuple[list[UUID], list[str], list[str | None]]:
    """(commIds, statuses, reasons), first receipt per commId; unknown statuses and ids that
    are no message's (not UUIDs) left out: they can move no log row."""
    seen: dict[UUID, tuple[str, str | None]] = {}
    for receipt in receipts:
        status = receipt.get("status")
        try:
            comm_id = UUID(str(receipt.get("commId")))
        except ValueError:
            continue
        if status in OUTCOMES and comm_id not in seen:
            reason = receipt.get("reason")
            seen[comm_id] = (status, reason.replace("\x00", "") if isinstance(reason, str) else None)
    return list(seen), [s for s, _ in seen.values()], [r for _, r in seen.values()]
