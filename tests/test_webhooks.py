import base64

import pytest

from minicrm import webhooks

OLD = "whsec_" + base64.b64encode(b"old secret").decode()
NEW = "whsec_" + base64.b64encode(b"new secret").decode()
BODY = b'[{"commId": "x"}]'


def test_a_signed_body_verifies():
    headers = webhooks.sign(OLD, BODY, now=1000)
    webhooks.verify([OLD], headers, BODY, now=1000)


def test_during_rotation_both_secrets_verify():
    for secret in (OLD, NEW):
        webhooks.verify([NEW, OLD], webhooks.sign(secret, BODY, now=50), BODY, now=50)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda h, b: ({}, b), "missing"),
        (lambda h, b: (h, b + b" "), "no signature matches"),
        (lambda h, b: ({**h, "webhook-signature": "v1,AAAA"}, b), "no signature matches"),
        (lambda h, b: ({**h, "webhook-id": "other"}, b), "no signature matches"),
        (lambda h, b: ({**h, "webhook-timestamp": "999"}, b), "no signature matches"),
        (lambda h, b: ({**h, "webhook-timestamp": "soon"}, b), "whole number"),
    ],
)
def test_bad_signatures_fail(change, message):
    headers, body = change(webhooks.sign(OLD, BODY, now=1000), BODY)
    with pytest.raises(webhooks.SignatureError, match=message):
        webhooks.verify([OLD], headers, body, now=1000)


def test_old_or_future_timestamps_fail_even_when_signed():
    headers = webhooks.sign(OLD, BODY, now=1000)
    for now in (1000 + webhooks.TOLERANCE_SECONDS + 1, 1000 - webhooks.TOLERANCE_SECONDS - 1):
        with pytest.raises(webhooks.SignatureError, match="from now"):
            webhooks.verify([OLD], headers, BODY, now=now)


def test_a_secret_from_another_party_fails():
    with pytest.raises(webhooks.SignatureError):
        webhooks.verify([NEW], webhooks.sign(OLD, BODY, now=5), BODY, now=5)
