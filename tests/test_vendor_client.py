"""The vendor client's pure parts: call sizes, idempotency keys, Retry-After."""

from collections import deque
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import orjson
from hypothesis import given
from hypothesis import strategies as st

from minicrm.streams.deliveries import idempotency_key, parts, retry_after

MESSAGES = [{"commId": f"{i:08d}", "personalized_msg": "x" * 100} for i in range(1000)]


def test_the_key_is_the_same_for_the_same_messages_only():
    assert idempotency_key(MESSAGES[:10]) == idempotency_key([dict(m) for m in MESSAGES[:10]])
    assert idempotency_key(MESSAGES[:10]) != idempotency_key(MESSAGES[1:11])


def test_retry_after_in_seconds_or_as_a_date():
    assert retry_after("3") == 3.0 and retry_after(None) is None and retry_after("soon") is None
    assert retry_after("9999") == 60.0 and retry_after("-5") == 0.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=10), usegmt=True)
    assert 8 <= retry_after(later) <= 10


def test_calls_follow_the_campaign_rate_and_the_body_limit():
    assert parts(MESSAGES) == [MESSAGES]
    assert [len(c) for c in parts(MESSAGES, most=300)] == [300, 300, 300, 100]
    calls = parts(MESSAGES, most=300, max_bytes=20_000)
    assert all(len(orjson.dumps(c)) <= 20_000 for c in calls) and [m for c in calls for m in c] == MESSAGES
    huge = [{"commId": "big", "personalized_msg": "x" * 5000}]
    assert parts(MESSAGES[:3] + huge, max_bytes=1000) == [MESSAGES[:2], MESSAGES[2:3], huge]


def accepted_calls(record: list[dict], vendor_limit: int, known: int) -> list[str]:
    """The keys of the calls a vendor taking bodies of `vendor_limit` bytes accepts of `record`,
    split as `deliveries.deliver` splits it when the limit it reads starts at `known` (0: none)."""
    calls, keys = deque(parts(record, max_bytes=known)), []
    while calls:
        call = calls.popleft()
        size = len(orjson.dumps(call))
        if size > vendor_limit and len(call) > 1:
            known = min(known or size, size - 1)  # what `sql.deliveries.LEARN` keeps
            calls.extendleft(reversed(parts(call, max_bytes=known)))
        else:
            keys.append(idempotency_key(call))
    return keys


@given(
    sizes=st.lists(st.integers(10, 400), min_size=1, max_size=120),
    vendor_limit=st.integers(500, 20_000),
    extra=st.lists(st.integers(0, 30_000), min_size=2, max_size=4),
)
def test_a_replay_makes_the_same_calls_whatever_the_worker_knew(sizes, vendor_limit, extra):
    """Whatever limit a worker had learnt (none, one learnt from other batches' 413s, one learnt
    from this very batch), the calls the vendor takes are the same, so their keys are."""
    record = [{"commId": f"{i:08d}", "personalized_msg": "x" * n} for i, n in enumerate(sizes)]
    first = accepted_calls(record, vendor_limit, 0)
    for known in extra:  # a limit read is never below the vendor's: 413s only teach refused - 1
        assert accepted_calls(record, vendor_limit, vendor_limit + known) == first
