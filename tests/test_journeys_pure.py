"""Journeys' pure rules: when a message is due (delay, quiet hours in a customer's zone), who may
enter again, and the statuses the database allows; every time is given, none is read."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from minicrm import journeys
from minicrm.journeys import QuietHours

NIGHT = QuietHours(time(21, 0), time(9, 0), "Asia/Kolkata")  # UTC+05:30, no DST
LUNCH = QuietHours(time(12, 0), time(14, 0), "UTC")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("when", "released"),
    [
        ("2026-12-03T16:00", "2026-12-04T03:30"),  # 21:30 in Kolkata: held until 09:00 tomorrow
        ("2026-12-03T02:00", "2026-12-03T03:30"),  # 07:30: held until 09:00 today
        ("2026-12-03T15:29", "2026-12-03T15:29"),  # 20:59: goes out
        ("2026-12-03T15:30", "2026-12-04T03:30"),  # 21:00 sharp: quiet
        ("2026-12-03T03:30", "2026-12-03T03:30"),  # 09:00 sharp: goes out
    ],
)
def test_quiet_hours_across_midnight(when, released):
    assert NIGHT.release(utc(when)) == utc(released)


def test_quiet_hours_within_a_day_and_empty():
    assert LUNCH.release(utc("2026-12-03T12:30")) == utc("2026-12-03T14:00")
    assert LUNCH.release(utc("2026-12-03T14:00")) == utc("2026-12-03T14:00")
    assert LUNCH.release(utc("2026-12-03T11:59")) == utc("2026-12-03T11:59")
    never = QuietHours(time(9, 0), time(9, 0), "UTC")
    assert never.release(utc("2026-12-03T09:00")) == utc("2026-12-03T09:00")


def test_the_customers_zone_wins_and_daylight_saving_counts():
    # 02:00 UTC is 21:00 in New York in winter (UTC-5) and 22:00 in summer (UTC-4): quiet until 09:00 local
    assert NIGHT.release(utc("2026-12-03T02:00"), "America/New_York") == utc("2026-12-03T14:00")
    assert NIGHT.release(utc("2026-07-03T02:00"), "America/New_York") == utc("2026-07-03T13:00")
    # the same instant is 07:30 in Kolkata, the journey's zone
    assert NIGHT.release(utc("2026-12-03T02:00")) == utc("2026-12-03T03:30")


def test_due_after_the_delay_then_out_of_quiet_hours():
    entered = utc("2026-12-03T14:00")  # 19:30 in Kolkata
    assert journeys.due_at(entered, 0, None) == entered
    assert journeys.due_at(entered, 3600, None) == entered + timedelta(hours=1)
    assert journeys.due_at(entered, 3600, NIGHT) == entered + timedelta(hours=1)  # 20:30: not yet quiet
    assert journeys.due_at(entered, 2 * 3600, NIGHT) == utc("2026-12-04T03:30")  # 21:30: the morning


def test_who_may_enter_again():
    now = utc("2026-12-03T12:00")
    assert journeys.refusal(journeys.ONCE, 0, None, now) is None
    assert journeys.refusal(journeys.ONCE, 0, now - timedelta(days=400), now) == journeys.ENTERED_BEFORE
    assert journeys.refusal(journeys.EVERY, 30, now - timedelta(days=10), now) == journeys.COOLDOWN
    assert journeys.refusal(journeys.EVERY, 30, now - timedelta(days=30), now) is None
    assert journeys.refusal(journeys.EVERY, 0, now, now) is None


def test_day_times_are_strict():
    assert journeys.day_time("21:05") == time(21, 5)
    for bad in ("9:00", "21:5", "ab:cd", "21-00"):
        with pytest.raises(ValueError):
            journeys.day_time(bad)


MIGRATION = Path(journeys.__file__).parent / "sql" / "migrations" / "014_journeys.sql"


@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("trigger_type", journeys.TRIGGERS),
        ("reentry", journeys.REENTRY),
        ("status", journeys.STATUSES),
        ("status", journeys.ENTRY_STATUSES),
    ],
)
def test_the_database_allows_the_same_statuses(column, values):
    checks = re.findall(rf"{column}\s+text NOT NULL CHECK \({column} IN \(([^)]*)\)\)", MIGRATION.read_text())
    allowed = [tuple(v.strip(" '") for v in check.split(",")) for check in checks]
    assert tuple(values) in allowed
