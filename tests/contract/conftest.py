"""The render function configured against the mock Segmind over real HTTP, as `make run` does."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest

from mock_server import MockSegmind
from tests.support.lambda_events import load_function

#: The request deadline of these tests: short, so that a hang costs little, with room for a
#: busy machine to answer everything else in time.
DEADLINE = 5.0


@pytest.fixture(scope="module")
def server() -> Iterator[MockSegmind]:
    with MockSegmind(seed=3) as mock:
        yield mock


@pytest.fixture
def gateway(
    server: MockSegmind, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModuleType]:
    """The render function with the Segmind key in its secret and the mock as its Segmind."""
    from vegart import runtime

    server.reset()
    boto3.client("secretsmanager").put_secret_value(
        SecretId=aws["secret_id"], SecretString=server.api_key
    )
    monkeypatch.setenv("SEGMIND_BASE_URL", server.base_url)
    monkeypatch.setenv("REQUEST_DEADLINE_SECONDS", str(DEADLINE))
    runtime.reset()
    yield load_function("render")
    runtime.reset()
