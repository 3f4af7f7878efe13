"""Signatures the Standard Webhooks way, checked by an independent verifier (the secrets in the
keys table: tests/functional/test_webhook_secrets.py)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from vegart.webhooks.signatures import (
    SECRET_BYTES,
    SECRET_PREFIX,
    SigningSecrets,
    WebhookSecrets,
    new_secret,
    signature_header,
)

BODY = json.dumps({"request_id": "r", "status": "COMPLETED"}).encode()
EVENT_ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"


def headers(secrets: list[str], timestamp: int, body: bytes = BODY) -> dict[str, str]:
    return {
        "webhook-id": EVENT_ID,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets, EVENT_ID, timestamp, body),
    }


def now() -> int:
    return int(datetime.now(UTC).timestamp())


def test_a_secret_is_whsec_and_base64_of_enough_random_bytes() -> None:
    secret = new_secret()
    assert secret.startswith(SECRET_PREFIX)
    raw = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    assert 24 <= len(raw) == SECRET_BYTES <= 64
    assert new_secret() != secret


def test_the_reference_verifier_accepts_an_event_as_signed() -> None:
    secret = new_secret()
    assert Webhook(secret).verify(BODY, headers([secret], now())) == json.loads(BODY)


def test_a_tampered_body_an_old_timestamp_or_another_secret_is_refused() -> None:
    secret = new_secret()
    signed = headers([secret], now())
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"COMPLETED", b"FAILED"), signed)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**signed, "webhook-id": "msg_other"})
    stale = now() - 3600
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, headers([secret], stale))
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, signed)


def test_during_a_grace_both_secrets_sign_and_either_verifies() -> None:
    old, new = new_secret(), new_secret()
    rotated = SigningSecrets(current=new, previous=old, previous_until=2000.0)
    assert rotated.signing(1999.0) == [new, old]
    assert rotated.signing(2000.0) == [new]
    signed = headers(rotated.signing(1999.0), now())
    assert signed["webhook-signature"].count("v1,") == 2
    for secret in (old, new):
        Webhook(secret).verify(BODY, signed)
    after = headers(rotated.signing(2000.0), now())
    Webhook(new).verify(BODY, after)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(BODY, after)


@pytest.fixture
def secrets(aws: dict[str, Any]) -> WebhookSecrets:
    client = boto3.client("dynamodb")
    clock = iter(float(t) for t in range(1000, 100000, 100))
    return WebhookSecrets(aws["keys_table"], lambda: client, clock=lambda: next(clock))
