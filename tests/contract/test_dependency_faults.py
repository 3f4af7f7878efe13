"""Faults of the gateway's own dependencies, each answered as the contract says.

The render function runs with moto for AWS and the mock Segmind over real HTTP; each test
breaks one dependency: S3, the keys table, Secrets Manager, or a backend slower than the
request's deadline.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from devkit.context import still_context
from devkit.events import (
    CLIENT_KEY_ID,
    api_event,
    header,
    key_check_event,
    response_body,
    response_json,
)
from devkit.functions import load_function
from mock_server import MockSegmind, render_jpeg
from vegart.keys import KeyStore
from vegart.render.backends.credentials import SecretKey, SecretUnavailable


def call(fn: ModuleType, prompt: str = "a harbour at night") -> dict[str, Any]:
    return fn.lambda_handler(api_event({"prompt": prompt, "seed": 5}), still_context())


def test_s3_unreachable_is_served_as_a_miss(
    gateway: ModuleType, server: MockSegmind, aws: dict[str, Any]
) -> None:
    boto3.client("s3").delete_bucket(Bucket=aws["bucket"])  # every read and write now fails
    for _ in range(2):
        response = call(gateway)
        assert response["statusCode"] == 200
        assert header(response, "x-cache") == "MISS"
        assert response_body(response) == render_jpeg("a harbour at night", 5, 4)
    assert len(server.requests()) == 2


def test_the_keys_table_unreachable_is_a_500_and_no_render(
    gateway: ModuleType, server: MockSegmind, aws: dict[str, Any]
) -> None:
    boto3.client("dynamodb").delete_table(TableName=aws["keys_table"])
    response = call(gateway)
    assert response["statusCode"] == 500
    assert "credit" in response_json(response)["error"]
    assert server.requests() == []


def test_the_keys_table_unreachable_lets_no_one_through_the_authorizer(
    aws: dict[str, Any],
) -> None:
    boto3.client("dynamodb").delete_table(TableName=aws["keys_table"])
    with pytest.raises(Exception) as raised:  # noqa: PT011 - any failure but a 401 or a policy
        load_function("authorizer").lambda_handler(key_check_event(), still_context())
    assert str(raised.value) != "Unauthorized"  # API Gateway answers AUTHORIZER_FAILURE (500)


class FlakySecrets:
    """Secrets Manager through Powertools' provider interface: up, then down."""

    def __init__(self, value: str) -> None:
        self.value = value
        self.up = True
        self.calls = 0

    def get(self, name: str, max_age: int) -> str:
        self.calls += 1
        if not self.up:
            raise GetParameterError("Secrets Manager unreachable")
        return self.value


def test_secrets_manager_down_keeps_the_cached_key_working() -> None:
    secrets = FlakySecrets("sg-key")
    key = SecretKey("vegart/segmind", max_age=0, provider=secrets)  # type: ignore[arg-type]
    assert key() == "sg-key"
    secrets.up = False
    assert key() == "sg-key"  # stale-if-error: the last good value
    assert secrets.calls == 2


def test_secrets_manager_down_with_no_cached_key_is_a_502() -> None:
    secrets = FlakySecrets("sg-key")
    secrets.up = False
    key = SecretKey("vegart/segmind", max_age=0, provider=secrets)  # type: ignore[arg-type]
    with pytest.raises(SecretUnavailable) as raised:
        key()
    assert raised.value.status == 502


def test_a_backend_slower_than_the_deadline_is_a_504_in_time_and_refunded(
    impatient_gateway: ModuleType, server: MockSegmind, keys: KeyStore
) -> None:
    before = keys.require(CLIENT_KEY_ID).credits
    # A hang lasts as long as the connection: that the call returns is the deadline's doing.
    server.enqueue({"fault": "hang"})
    response = call(impatient_gateway, "too slow")
    assert response["statusCode"] == 504
    assert keys.require(CLIENT_KEY_ID).credits == before
