"""Folding a batch of receipts: one outcome per message, the first one seen.

A log row moves from PENDING once, so among duplicates only the first receipt can
matter; keeping it here keeps every commId once in the SQL batch.
"""

from __future__ import annotations

from typing import Any, Iterable

OUTCOMES = ("SENT", "FAILED")


def fold(receipts: Iterable[dict[str, Any]]) -> tuple[list[str], list[str], list[str | None]]:
    """(commIds, statuses, reasons), first receipt per commId, unknown statuses left out."""
    seen: dict[str, tuple[str, str | None]] = {}
    for receipt in receipts:
        comm_id, status = receipt.get("commId"), receipt.get("status")
        if comm_id and status in OUTCOMES and comm_id not in seen:
            seen[comm_id] = (status, receipt.get("reason"))
    return list(seen), [s for s, _ in seen.values()], [r for _, r in seen.values()]
