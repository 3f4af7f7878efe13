"""Each key's webhook signing secrets in the keys table: made on first use, rotated with a grace,
never printed (the signatures themselves: tests/unit/test_webhook_signatures.py)."""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3
import pytest

from vegart.errors import NotFound
from vegart.keys import KeyStore
from vegart.observability import logger
from vegart.webhooks.signatures import SECRET_PREFIX, WebhookSecrets, new_secret


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
