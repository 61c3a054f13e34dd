from minicrm.receipt_folding import fold


def test_first_receipt_per_message_wins_and_junk_is_dropped():
    receipts = [
        {"commId": "a", "status": "SENT"},
        {"commId": "b", "status": "FAILED", "reason": "bounced"},
        {"commId": "a", "status": "FAILED"},
        {"commId": "c", "status": "DELIVERED"},
        {"status": "SENT"},
    ]
    assert fold(receipts) == (["a", "b"], ["SENT", "FAILED"], [None, "bounced"])
