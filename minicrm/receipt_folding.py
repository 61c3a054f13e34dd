"""Folding a batch of receipts: one outcome per message, the first one seen, and the opt-outs.

A log row moves from PENDING once, so among duplicates only the first receipt can
matter; keeping it here keeps every commId once in the SQL batch. A vendor may also
report that a recipient unsubscribed (the message was delivered) or bounced (it was not):
either is an outcome and an opt-out, which suppresses the recipient from later campaigns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

OUTCOMES = {"SENT": "SENT", "FAILED": "FAILED", "UNSUBSCRIBED": "SENT", "BOUNCED": "FAILED"}
RECEIPT_STATUSES = tuple(OUTCOMES)
OPT_OUTS = {"UNSUBSCRIBED": "unsubscribed", "BOUNCED": "bounced"}


# A message id as text, as the log's ids are written out (asyncpg sends such text as a uuid).
UUID_TEXT = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
MESSAGE_ID = re.compile(UUID_TEXT)


@dataclass
class Folded:
    ids: list[str] = field(default_factory=list)  # message ids as text: a UUID object apiece cost a tenth of the fold
    statuses: list[str] = field(default_factory=list)
    reasons: list[str | None] = field(default_factory=list)
    opt_outs: dict[str, str] = field(default_factory=dict)  # commId → why its recipient opted out


def _text(value: Any) -> str | None:
    return value.replace("\x00", "") if isinstance(value, str) else None


def fold(receipts: Iterable[dict[str, Any]]) -> Folded:
    """First outcome per commId, and every opt-out; unknown statuses and ids that are no
    message's (not UUIDs in the 8-4-4-4-12 form the edge takes) left out: they can move no log row."""
    seen: dict[str, tuple[str, str | None]] = {}
    folded = Folded()
    for receipt in receipts:
        status, comm_id = receipt.get("status"), receipt.get("commId")
        if status not in OUTCOMES or not isinstance(comm_id, str) or not MESSAGE_ID.fullmatch(comm_id):
            continue
        comm_id = comm_id.lower()
        reason = _text(receipt.get("reason"))
        if status in OPT_OUTS:
            folded.opt_outs.setdefault(comm_id, f"{OPT_OUTS[status]}: {reason}" if reason else OPT_OUTS[status])
            reason = reason or OPT_OUTS[status]
        if comm_id not in seen:
            seen[comm_id] = (OUTCOMES[status], reason)
    folded.ids = list(seen)
    folded.statuses = [s for s, _ in seen.values()]
    folded.reasons = [r for _, r in seen.values()]
    return folded
