"""A campaign's state machine, in one place: statuses, the moves between them, who makes each.

    SCHEDULED ─due─▶ QUEUED ─begin─▶ SEGMENTING ─segmented─▶ RUNNING ─summarised─▶ COMPLETED
                                          │  ▲       │         ▲ │  ▲
                                    pause │  │ resume│ A/B test│ │  │ resume / vendor up
                                          ▼  │       ▼ decided │ ▼  │
                                          PAUSED ◀── TESTING ──┘ PAUSED ◀──vendor down

Any status but a final one can be cancelled (CANCELLED) or fail (FAILED: its request could
not be run). A campaign is *delivered* once it is segmented and no message is pending; it
reads COMPLETED only when its summary is written, in the statement that writes it. A
cancelled campaign is final at once and gets its summary too (if it had started).

A campaign with an A/B test is TESTING once segmented: its test cohort is sent, the rest of its
audience waits (WAITING messages, counted as pending) until the decision is due; then the
winner's message goes to the rest and it runs on. TESTING is paused, resumed and cancelled like
RUNNING; a resume before the decision returns to TESTING.

Both pauses read PAUSED; `paused_by` tells the user's pause (it stays until the user
resumes) from the vendor's (the fan-out lifts it on the first call that succeeds). A
resume starts a new *delivery epoch*: batches published before it are dropped by the
fan-out and the messages still pending are published again, so nothing is sent twice
by us and nothing is left behind.

This module is pure: the edge asks `decide()` whether a user's action is allowed and what
it leads to, the SQL takes its status lists from here (`sql_list`), the OpenAPI document
its enums, and a test checks the database's CHECK constraints against these tuples.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEDULED, QUEUED, SEGMENTING, RUNNING, TESTING, PAUSED, COMPLETED, FAILED, CANCELLED = (
    "SCHEDULED",
    "QUEUED",
    "SEGMENTING",
    "RUNNING",
    "TESTING",
    "PAUSED",
    "COMPLETED",
    "FAILED",
    "CANCELLED",
)
STATUSES = (SCHEDULED, QUEUED, SEGMENTING, RUNNING, TESTING, PAUSED, COMPLETED, FAILED, CANCELLED)
FINAL = (COMPLETED, FAILED, CANCELLED)
# Segmented (or being segmented, if PAUSED); messages out or waiting. Not TESTING: a test's
# campaign is delivered only once its decision has sent the rest.
SENDING = (RUNNING, PAUSED)
STARTED = (SEGMENTING, RUNNING, TESTING, PAUSED)

USER, VENDOR = "user", "vendor"  # who paused

# A message (one communication_log row). PENDING until an outcome; SKIPPED rows are the
# segment's customers that were not messaged (opted out, or over the frequency cap); HOLDOUT rows
# the holdout's (never messaged, their conversions measure the lift); WAITING rows an A/B test's
# rest, until the winner is decided (then PENDING, with the winner's message).
PENDING, SENT, MESSAGE_FAILED, MESSAGE_CANCELLED, SKIPPED = "PENDING", "SENT", "FAILED", "CANCELLED", "SKIPPED"
HOLDOUT, WAITING = "HOLDOUT", "WAITING"
MESSAGE_STATUSES = (PENDING, SENT, MESSAGE_FAILED, MESSAGE_CANCELLED, SKIPPED, HOLDOUT, WAITING)
RESENDABLE = (SENT, MESSAGE_FAILED, MESSAGE_CANCELLED, SKIPPED)  # final message statuses
OPTED_OUT, FREQUENCY_CAPPED = "opted out", "frequency cap"  # the reasons of SKIPPED rows
# The reason of a FAILED row whose receipt never came (the vendor lost the message, or its receipts
# were refused): still PENDING when the vendor had taken no call of its campaign for the receipt
# timeout. Counted in `failed_count`, and apart in `no_receipt_count`.
NO_RECEIPT = "no receipt from the vendor within the receipt timeout"
# Campaigns whose pending messages may time out: sending, not paused (a paused one sends nothing).
RECEIPTS_AWAITED = (RUNNING, TESTING)
# The campaign's counters of its messages in each status (test sends are in none).
COUNTERS = {
    PENDING: ("pending_count",),
    SENT: ("sent_count",),
    MESSAGE_FAILED: ("failed_count",),
    MESSAGE_CANCELLED: ("cancelled_count",),
    SKIPPED: ("suppressed_count", "capped_count"),
    HOLDOUT: ("holdout_size",),
    WAITING: ("waiting_count",),
}

# What a user may do, and from which statuses.
PAUSE, RESUME, CANCEL, RESCHEDULE = "pause", "resume", "cancel", "reschedule"
ACTIONS = (PAUSE, RESUME, CANCEL, RESCHEDULE)


class IllegalTransition(Exception):
    """The action is not allowed in the campaign's present state (the edge answers 409)."""


@dataclass(frozen=True)
class State:
    status: str
    paused_by: str | None = None
    segmented: bool = False  # its whole audience is written
    testing: bool = False  # an A/B test whose winner is not decided yet
    delivered: bool = False  # segmented and nothing pending: only its summary is to come


@dataclass(frozen=True)
class Move:
    status: str
    paused_by: str | None = None


def decide(action: str, state: State) -> Move:
    """Where a user's action takes a campaign, or IllegalTransition saying why not."""
    status = state.status
    if status in FINAL:
        raise IllegalTransition(f"the campaign is {status}, which is final")
    if state.delivered:
        raise IllegalTransition("every message of the campaign has its outcome; its summary is being written")
    if action == CANCEL:
        return Move(CANCELLED)
    if action == RESCHEDULE:
        if status != SCHEDULED:
            raise IllegalTransition(f"only a SCHEDULED campaign can be rescheduled; this one is {status}")
        return Move(SCHEDULED)
    if action == PAUSE:
        if status == PAUSED and state.paused_by == USER:
            raise IllegalTransition("the campaign is paused already")
        if status not in STARTED:
            raise IllegalTransition(f"only a started campaign can be paused; this one is {status} (cancel it instead)")
        return Move(PAUSED, USER)  # a vendor's pause becomes the user's: it stays until resumed
    if action == RESUME:
        if status != PAUSED:
            raise IllegalTransition(f"only a PAUSED campaign can be resumed; this one is {status}")
        if not state.segmented:
            return Move(SEGMENTING)
        return Move(TESTING if state.testing else RUNNING)
    raise ValueError(f"unknown action {action!r}")


def delivering(status: str, paused_by: str | None) -> bool:
    """Whether the fan-out sends this campaign's messages (a vendor's pause retries; a user's waits)."""
    return status in STARTED and not (status == PAUSED and paused_by == USER)


def sql_list(values: tuple[str, ...]) -> str:
    """`('A', 'B')` for a SQL `IN`: the statuses are constants of this module, never input."""
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"
