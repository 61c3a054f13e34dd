"""Journeys, the pure part: statuses, who may enter, and when an entry's message is due.

A journey sends its message to each customer who enters it: `enters_segment` when a change to
the customer or their orders makes them match its rules after not matching before; `order_placed`
at each order placed (PENDING or COMPLETED, once per order id), when the customer after the order
matches its rules (if it has any). `reentry` "once" lets a customer in once ever; "every" again
after `cooldown_days`. The message is due `delay_seconds` after the entry, moved out of the quiet
hours (in the customer's time zone when they have one, else the journey's); when due, an
`enters_segment` entry is re-checked (a customer who left the segment meanwhile is skipped), and
every message goes through the suppression list and the frequency cap like a campaign's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

ACTIVE, PAUSED, DELETED = "ACTIVE", "PAUSED", "DELETED"
STATUSES = (ACTIVE, PAUSED, DELETED)
ENTERS_SEGMENT, ORDER_PLACED = "enters_segment", "order_placed"
TRIGGERS = (ENTERS_SEGMENT, ORDER_PLACED)
ONCE, EVERY = "once", "every"
REENTRY = (ONCE, EVERY)

# An entry: WAITING until due, then QUEUED (its log row is written, its delivery being
# published), MESSAGED once published, or SKIPPED with its reason.
WAITING, QUEUED, MESSAGED, SKIPPED = "WAITING", "QUEUED", "MESSAGED", "SKIPPED"
ENTRY_STATUSES = (WAITING, QUEUED, MESSAGED, SKIPPED)
ENTERED_BEFORE, COOLDOWN, LEFT_SEGMENT, JOURNEY_DELETED = (
    "entered before",
    "cooldown",
    "left the segment",
    "journey deleted",
)
PLACED = ("PENDING", "COMPLETED")  # the order statuses that place an order


def day_time(text: str) -> time:
    """`21:00` to a time; ValueError for anything else."""
    hours, _, minutes = text.partition(":")
    if len(text) != 5 or not (hours.isdigit() and minutes.isdigit()):
        raise ValueError(f"expected HH:MM, got {text!r}")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class QuietHours:
    """No message from `start` to `end` local time (across midnight when `end` is earlier)."""

    start: time
    end: time
    timezone: str

    @classmethod
    def from_json(cls, value: dict[str, Any] | None) -> QuietHours | None:
        if not value:
            return None
        return cls(day_time(value["start"]), day_time(value["end"]), value["timezone"])

    def release(self, when: datetime, zone: str | None = None) -> datetime:
        """`when` if it is outside the quiet hours in `zone` (else the journey's time zone);
        otherwise the end of the quiet hours it falls in. Aware datetimes in and out."""
        tz = ZoneInfo(zone or self.timezone)
        local = when.astimezone(tz)
        at = local.time().replace(tzinfo=None)
        if self.start == self.end:
            return when
        if self.start < self.end:
            quiet, end_day = self.start <= at < self.end, local.date()
        else:  # across midnight: the quiet evening ends tomorrow, the quiet morning today
            quiet = at >= self.start or at < self.end
            end_day = local.date() + timedelta(days=1) if at >= self.start else local.date()
        if not quiet:
            return when
        return datetime.combine(end_day, self.end, tzinfo=tz).astimezone(when.tzinfo)


def due_at(
    entered: datetime, delay_seconds: int, quiet: QuietHours | None, customer_zone: str | None = None
) -> datetime:
    """When an entry's message goes out: after its delay, and out of the quiet hours."""
    when = entered + timedelta(seconds=delay_seconds)
    return quiet.release(when, customer_zone) if quiet else when


def refusal(reentry: str, cooldown_days: int, last_entry: datetime | None, now: datetime) -> str | None:
    """Why a customer whose last (not skipped) entry was at `last_entry` may not enter now, or None."""
    if last_entry is None:
        return None
    if reentry == ONCE:
        return ENTERED_BEFORE
    if now - last_entry < timedelta(days=cooldown_days):
        return COOLDOWN
    return None
