"""Fixtures shared by every test: a deployment's environment, AWS in moto, and events.

The environment is set when this module is imported, before any test imports a function, so
that code reading settings at import time sees the test deployment and never a real account.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_stack.demo import DEMO_LABEL
from local_stack.resources import Deployment
from tests.support.aws import (
    add_key,
    atomic_dynamodb_writes,
    create_deployment_resources,
    key_store,
)
from tests.support.lambda_events import CLIENT_KEY, FakeContext
from vegart.keys import KeyStore

TEST_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "POWERTOOLS_SERVICE_NAME": "vegart-gateway",
    "POWERTOOLS_METRICS_NAMESPACE": "VegaRT",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_DEV": "false",
    "VEGART_BACKEND": "segmind",
    "SEGMIND_BASE_URL": "https://api.segmind.test/v1",
    "SEGMIND_SECRET_ID": "vegart/segmind-api-key",
    "CACHE_BUCKET": "vegart-test-render-cache",
    "KEYS_TABLE": "vegart-test-keys",
    "LEASES_TABLE": "vegart-test-render-leases",
    "REQUEST_DEADLINE_SECONDS": "5",
    "ALLOWED_ORIGINS": "*",
}
os.environ.update(TEST_ENV)
for _proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
    os.environ.pop(_proxy, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

#: The gateway's own Segmind key, as stored in the test deployment's secret.
SEGMIND_TEST_KEY = "sg-gateway-test-key"
#: The credits the test client key starts with: enough that no test runs out by accident.
CLIENT_CREDITS = 1000
TEST_DEPLOYMENT = Deployment(
    bucket=TEST_ENV["CACHE_BUCKET"],
    secret_id=TEST_ENV["SEGMIND_SECRET_ID"],
    keys_table=TEST_ENV["KEYS_TABLE"],
    leases_table=TEST_ENV["LEASES_TABLE"],
)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto in process, holding the test deployment's resources and the test client's key."""
    from vegart import runtime

    runtime.reset()
    atomic_dynamodb_writes(monkeypatch)
    with mock_aws():
        resources = create_deployment_resources(TEST_DEPLOYMENT, segmind_key=SEGMIND_TEST_KEY)
        resources["keys"] = key_store(TEST_DEPLOYMENT.keys_table)
        resources["client_key_id"] = add_key(
            resources["keys"], CLIENT_KEY, CLIENT_CREDITS, label=DEMO_LABEL
        )
        yield resources
    runtime.reset()


@pytest.fixture
def keys(aws: dict[str, Any]) -> KeyStore:
    """The test deployment's keys table."""
    return aws["keys"]


@pytest.fixture
def s3(aws: dict[str, Any]) -> Any:
    return boto3.client("s3")


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()
