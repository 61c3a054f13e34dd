from uuid import UUID, uuid4

from minicrm.receipt_folding import fold


def test_first_receipt_per_message_wins_and_junk_is_dropped():
    a, b, c = uuid4(), uuid4(), uuid4()
    receipts = [
        {"commId": str(a), "status": "SENT"},
        {"commId": str(b), "status": "FAILED", "reason": "bounced\x00"},
        {"commId": str(a), "status": "FAILED"},
        {"commId": str(c), "status": "DELIVERED"},
        {"status": "SENT"},
        {"commId": "not-a-message-id", "status": "SENT"},
    ]
    assert fold(receipts) == ([a, b], ["SENT", "FAILED"], [None, "bounced"])
    assert isinstance(fold(receipts)[0][0], UUID)
