"""The campaign state machine: every user action from every state, and the database agreeing."""

from __future__ import annotations

import re

import pytest

from minicrm import campaign_states as s
from minicrm.campaign_states import IllegalTransition, Move, State, decide


@pytest.mark.parametrize("status", s.FINAL)
@pytest.mark.parametrize("action", s.ACTIONS)
def test_final_campaigns_refuse_every_action(status, action):
    with pytest.raises(IllegalTransition, match="final"):
        decide(action, State(status))


def test_pause():
    assert decide(s.PAUSE, State(s.RUNNING, segmented=True)) == Move(s.PAUSED, s.USER)
    assert decide(s.PAUSE, State(s.SEGMENTING)) == Move(s.PAUSED, s.USER)
    assert decide(s.PAUSE, State(s.PAUSED, s.VENDOR, segmented=True)) == Move(s.PAUSED, s.USER)  # the user's now
    for status in (s.SCHEDULED, s.QUEUED):
        with pytest.raises(IllegalTransition, match="started"):
            decide(s.PAUSE, State(status))
    with pytest.raises(IllegalTransition, match="already"):
        decide(s.PAUSE, State(s.PAUSED, s.USER))


def test_resume_returns_to_where_the_campaign_was():
    assert decide(s.RESUME, State(s.PAUSED, s.USER, segmented=True)) == Move(s.RUNNING)
    assert decide(s.RESUME, State(s.PAUSED, s.USER, segmented=False)) == Move(s.SEGMENTING)
    assert decide(s.RESUME, State(s.PAUSED, s.VENDOR, segmented=True)) == Move(s.RUNNING)
    for status in (s.SCHEDULED, s.QUEUED, s.SEGMENTING, s.RUNNING):
        with pytest.raises(IllegalTransition):
            decide(s.RESUME, State(status))


def test_cancel_and_reschedule():
    for status in (s.SCHEDULED, s.QUEUED, s.SEGMENTING, s.RUNNING, s.PAUSED):
        assert decide(s.CANCEL, State(status)) == Move(s.CANCELLED)
    assert decide(s.RESCHEDULE, State(s.SCHEDULED)) == Move(s.SCHEDULED)
    with pytest.raises(IllegalTransition, match="SCHEDULED"):
        decide(s.RESCHEDULE, State(s.QUEUED))


def test_a_delivered_campaign_waits_only_for_its_summary():
    for action in s.ACTIONS:
        with pytest.raises(IllegalTransition, match="summary"):
            decide(action, State(s.RUNNING, segmented=True, delivered=True))


def test_only_the_users_pause_holds_messages_back():
    assert s.delivering(s.RUNNING, None) and s.delivering(s.SEGMENTING, None)
    assert s.delivering(s.PAUSED, s.VENDOR)  # the fan-out keeps retrying the vendor
    assert not s.delivering(s.PAUSED, s.USER)
    assert not any(s.delivering(status, None) for status in (*s.FINAL, s.SCHEDULED, s.QUEUED))


def _allowed(definition: str) -> set[str]:
    return set(re.findall(r"'([A-Z]+)'", definition))


@pytest.mark.integration
async def test_the_database_allows_exactly_these_statuses(db_pool):
    checks = dict(
        await db_pool.fetch(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conname IN ('campaigns_status_check', 'communication_log_status_check')"
        )
    )
    assert _allowed(checks["campaigns_status_check"]) == set(s.STATUSES)
    assert _allowed(checks["communication_log_status_check"]) == set(s.MESSAGE_STATUSES)
