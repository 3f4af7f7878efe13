"""Signatures the Standard Webhooks way, checked by an independent verifier, and each key's
secrets in the keys table: made on first use, rotated with a grace, never printed."""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from vegart.errors import NotFound
from vegart.keys import KeyStore
from vegart.observability import logger
from vegart.webhook_signatures import (
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


def test_a_key_gets_its_secret_on_first_use_and_keeps_it(
    secrets: WebhookSecrets, aws: dict[str, Any]
) -> None:
    first = secrets.get(aws["client_key_id"])
    assert first.current.startswith(SECRET_PREFIX)
    assert first.previous is None
    assert secrets.get(aws["client_key_id"]) == first


def test_two_first_uses_at_once_agree_on_one_secret(aws: dict[str, Any]) -> None:
    client = boto3.client("dynamodb")
    made = iter([new_secret(), new_secret()])
    racing = WebhookSecrets(aws["keys_table"], lambda: client, generate=lambda: next(made))
    # Both read "no secret" before either writes: the conditional write keeps the first.
    read = racing._read
    racing._read = lambda key_id: None  # type: ignore[method-assign]
    one = racing.get(aws["client_key_id"])
    two = racing.get(aws["client_key_id"])
    racing._read = read  # type: ignore[method-assign]
    assert one == two == racing.get(aws["client_key_id"])


def test_rotation_keeps_the_old_secret_signing_for_the_grace(
    secrets: WebhookSecrets, aws: dict[str, Any]
) -> None:
    before = secrets.get(aws["client_key_id"])
    rotated = secrets.rotate(aws["client_key_id"], grace_seconds=3600)
    assert rotated.current != before.current
    assert rotated.previous == before.current
    assert rotated.signing(rotated.previous_until - 1) == [rotated.current, before.current]
    assert rotated.signing(rotated.previous_until) == [rotated.current]
    assert secrets.get(aws["client_key_id"]) == rotated


def test_a_key_that_does_not_exist_has_no_secret(secrets: WebhookSecrets) -> None:
    with pytest.raises(NotFound):
        secrets.get("0" * 64)
    with pytest.raises(NotFound):
        secrets.rotate("0" * 64)


def test_secrets_are_in_no_key_listing_and_no_log(
    secrets: WebhookSecrets,
    keys: KeyStore,
    aws: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The gateway's own logs, at their most verbose (botocore's debug log of the wire is
    # off in a function, as everywhere by default).
    with caplog.at_level(logging.DEBUG, logger=logger.name):
        made = secrets.get(aws["client_key_id"])
        rotated = secrets.rotate(aws["client_key_id"])
    printed = capsys.readouterr()
    shown = [json.dumps(record.public()) for record in keys]
    for secret in (made.current, rotated.current):
        raw = secret.removeprefix(SECRET_PREFIX)
        assert raw not in caplog.text
        assert raw not in printed.out + printed.err
        assert not any(raw in text for text in shown)
