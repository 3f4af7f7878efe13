"""Fixtures shared by every test: a deployment's environment, AWS in moto, and a context.

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

from devkit.context import LambdaContext, still_context
from devkit.demo import DEMO_LABEL
from devkit.deployment import SEGMIND_TEST_KEY, TEST_DEPLOYMENT, function_env
from devkit.events import CLIENT_KEY
from devkit.moto import add_key, create_deployment_resources, key_store, make_item_writes_atomic
from devkit.powertools import metrics_per_thread
from vegart.keys import KeyStore

TEST_ENV = function_env()
os.environ.update(TEST_ENV)
# Tests run many invocations at once, each thread standing for a Lambda instance of its own.
# (Imported only now: Powertools reads its namespace from the environment just set.)
from vegart import observability  # noqa: E402

metrics_per_thread(observability.metrics)
for _proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
    os.environ.pop(_proxy, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

__all__ = ["CLIENT_CREDITS", "SEGMIND_TEST_KEY", "TEST_DEPLOYMENT", "TEST_ENV"]

#: The credits the test client key starts with: enough that no test runs out by accident.
CLIENT_CREDITS = 1000


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto in process, holding the test deployment's resources and the test client's key."""
    make_item_writes_atomic(monkeypatch.setattr)
    with mock_aws():
        resources = create_deployment_resources(TEST_DEPLOYMENT, segmind_key=SEGMIND_TEST_KEY)
        resources["keys"] = key_store(TEST_DEPLOYMENT.keys_table)
        resources["client_key_id"] = add_key(
            resources["keys"], CLIENT_KEY, CLIENT_CREDITS, label=DEMO_LABEL
        )
        yield resources


@pytest.fixture
def keys(aws: dict[str, Any]) -> KeyStore:
    """The test deployment's keys table."""
    return aws["keys"]


@pytest.fixture
def s3(aws: dict[str, Any]) -> Any:
    return boto3.client("s3")


@pytest.fixture
def context() -> LambdaContext:
    return still_context()
