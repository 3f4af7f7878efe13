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

from tests.support.aws import create_deployment_resources
from tests.support.lambda_events import FakeContext

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
    "REQUEST_DEADLINE_SECONDS": "5",
    "ALLOWED_ORIGINS": "*",
}
os.environ.update(TEST_ENV)
for _proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
    os.environ.pop(_proxy, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

#: The gateway's own Segmind key, as stored in the test deployment's secret.
SEGMIND_TEST_KEY = "sg-gateway-test-key"


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    """moto in process, holding the test deployment's bucket and Segmind secret."""
    from vegart import runtime

    runtime.reset()
    with mock_aws():
        resources = create_deployment_resources(
            bucket=TEST_ENV["CACHE_BUCKET"],
            secret_id=TEST_ENV["SEGMIND_SECRET_ID"],
            segmind_key=SEGMIND_TEST_KEY,
        )
        yield resources
    runtime.reset()


@pytest.fixture
def s3(aws: dict[str, Any]) -> Any:
    return boto3.client("s3")


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()
