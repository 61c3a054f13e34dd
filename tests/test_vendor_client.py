"""The vendor client's pure parts: call sizes, idempotency keys, Retry-After."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from minicrm.streams import deliveries
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


def test_calls_follow_the_size_the_vendor_took(monkeypatch):
    assert parts(MESSAGES) == [MESSAGES]
    monkeypatch.setitem(deliveries.learnt.batch_limits, deliveries.settings.vendor_url, 300)
    calls = parts(MESSAGES)
    assert [len(c) for c in calls] == [300, 300, 300, 100] and [m for call in calls for m in call] == MESSAGES
