"""Who in a segment is not messaged, and why: opted out (suppressed), or over the frequency cap.

One SQL expression over customers `c` gives the reason (NULL: message them), used by
segmentation (where the excluded are written as SKIPPED log rows, so they are counted
exactly once and a replayed chunk counts nothing twice). A preview counts the same
exclusions from their own, small, side: the suppression list and the period's messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from minicrm.campaign_states import FREQUENCY_CAPPED, OPTED_OUT, PENDING, SENT

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_CAP = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*([smhd])\s*$")


@dataclass(frozen=True)
class FrequencyCap:
    """At most `messages` per customer in any `seconds`, across campaigns (test sends excluded)."""

    messages: int
    seconds: int

    def __str__(self) -> str:
        return f"{self.messages} per {self.seconds} s"


def parse_cap(text: str) -> FrequencyCap | None:
    """`3/7d` (also s, m, h) to a FrequencyCap; empty or `off` to None; ValueError otherwise."""
    if text.strip().lower() in ("", "off"):
        return None
    match = _CAP.match(text)
    if not match or int(match.group(1)) < 1 or int(match.group(2)) < 1:
        raise ValueError(f"expected messages/period such as 3/7d (units s, m, h, d), got {text!r}")
    return FrequencyCap(int(match.group(1)), int(match.group(2)) * UNITS[match.group(3)])


SUPPRESSED = "EXISTS (SELECT 1 FROM suppressions s WHERE s.email = c.email)"


def _counted(period_param: int) -> str:
    """The log rows `l` a cap counts: messages pending or sent in the last `$period_param`
    seconds (test sends go to staff, failed ones reached nobody)."""
    return (
        f"l.created_at > now() - make_interval(secs => ${period_param}::int) AND NOT l.test"
        f" AND l.status IN ('{PENDING}', '{SENT}')"
    )


def skip_reason(cap: FrequencyCap | None, first_param: int, campaign: str | None = None) -> tuple[str, list[Any]]:
    """(SQL expression, its bind values from `$first_param`): why customer `c` is not messaged,
    or NULL. `campaign` (a SQL expression) leaves that campaign's own messages out of the count."""
    if cap is None:
        return f"CASE WHEN {SUPPRESSED} THEN '{OPTED_OUT}' END", []
    own = f" AND l.campaign_id <> {campaign}" if campaign else ""
    n = f"${first_param}::int"
    recent = (
        f"(SELECT count(*) FROM (SELECT 1 FROM communication_log l WHERE l.customer_id = c.id"
        f" AND {_counted(first_param + 1)}{own} LIMIT {n}) r) >= {n}"
    )
    return (
        f"CASE WHEN {SUPPRESSED} THEN '{OPTED_OUT}' WHEN {recent} THEN '{FREQUENCY_CAPPED}' END",
        [cap.messages, cap.seconds],
    )


def capped_count(cap: FrequencyCap, condition: str, first_param: int) -> tuple[str, list[Any]]:
    """(SQL statement, its bind values from `$first_param`): how many customers matching
    `condition` are over the cap and not opted out (those are counted as opted out), counted
    from the period's log, so that a broad segment is not probed customer by customer."""
    return (
        f"SELECT count(*)::int FROM (SELECT l.customer_id FROM communication_log l"
        f" WHERE {_counted(first_param + 1)} GROUP BY l.customer_id HAVING count(*) >= ${first_param}::int) r"
        f" JOIN customers c ON c.id = r.customer_id WHERE {condition} AND NOT {SUPPRESSED}",
        [cap.messages, cap.seconds],
    )
