from uuid import uuid4

from minicrm.receipt_folding import fold


def test_first_receipt_per_message_wins_and_junk_is_dropped():
    a, b, c = uuid4(), uuid4(), uuid4()
    receipts = [
        {"commId": str(a), "status": "SENT"},
        {"commId": str(b), "status": "FAILED", "reason": "mailbox full\x00"},
        {"commId": str(a), "status": "FAILED"},
        {"commId": str(c), "status": "DELIVERED"},
        {"status": "SENT"},
        {"commId": "not-a-message-id", "status": "SENT"},
        {"commId": 42, "status": "SENT"},
        {"commId": str(c).upper(), "status": "SENT"},
        {"commId": str(b).upper(), "status": "SENT"},  # `b` again
        {"commId": f"{{{c}}}", "status": "SENT"},
    ]
    folded = fold(receipts)
    assert (folded.ids, folded.statuses, folded.reasons) == (
        [str(a), str(b), str(c)],
        ["SENT", "FAILED", "SENT"],
        [None, "mailbox full", None],
    )
    assert folded.opt_outs == {}


def test_unsubscribed_and_bounced_are_outcomes_and_opt_outs():
    sent_then_unsubscribed, bounced, unsubscribed = uuid4(), uuid4(), uuid4()
    folded = fold(
        [
            {"commId": str(sent_then_unsubscribed), "status": "SENT"},
            {"commId": str(sent_then_unsubscribed), "status": "UNSUBSCRIBED", "reason": "clicked the link"},
            {"commId": str(bounced), "status": "BOUNCED", "reason": "no such mailbox"},
            {"commId": str(unsubscribed), "status": "UNSUBSCRIBED"},
        ]
    )
    assert folded.ids == [str(sent_then_unsubscribed), str(bounced), str(unsubscribed)]
    assert folded.statuses == ["SENT", "FAILED", "SENT"]  # a bounce was not delivered; an unsubscribe was
    assert folded.reasons == [None, "no such mailbox", "unsubscribed"]
    assert folded.opt_outs == {
        str(sent_then_unsubscribed): "unsubscribed: clicked the link",
        str(bounced): "bounced: no such mailbox",
        str(unsubscribed): "unsubscribed",
    }
