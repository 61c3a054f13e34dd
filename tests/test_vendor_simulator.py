import random

from minicrm.simulator.vendor import Behaviour, outcomes

DELIVERIES = [{"commId": str(i), "campaignId": "c", "customerId": "x"} for i in range(2000)]


def test_failure_rate_is_applied():
    receipts = outcomes(DELIVERIES, Behaviour(0.1, 0, 0, False, 1000), random.Random(1))
    failed = sum(r["status"] == "FAILED" for r in receipts)
    assert len(receipts) == 2000 and 140 < failed < 260
    assert [r["commId"] for r in receipts] == [d["commId"] for d in DELIVERIES]


def test_duplicates_and_shuffle():
    receipts = outcomes(DELIVERIES, Behaviour(0.1, 0, 1.0, True, 1000), random.Random(2))
    assert len(receipts) == 4000
    assert sorted({r["commId"] for r in receipts}) == sorted(d["commId"] for d in DELIVERIES)
    assert [r["commId"] for r in receipts[:50]] != [
        r["commId"] for r in sorted(receipts, key=lambda r: int(r["commId"]))[:50]
    ]
