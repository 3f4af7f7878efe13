"""The render function configured against the mock Segmind over real HTTP, as `make run` does."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest

from devkit.functions import load_function
from mock_server import MockSegmind

#: The request deadline of these tests: short, so that a hang costs little, with room for a
#: busy machine to answer everything else in time.
DEADLINE = 10.0


@pytest.fixture(scope="module")
def server() -> Iterator[MockSegmind]:
    with MockSegmind(seed=3) as mock:
        yield mock


@pytest.fixture
def gateway(
    server: MockSegmind, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> ModuleType:
    """The render function with the Segmind key in its secret and the mock as its Segmind."""
    server.reset()
    boto3.client("secretsmanager").put_secret_value(
        SecretId=aws["secret_id"], SecretString=server.api_key
    )
    monkeypatch.setenv("SEGMIND_BASE_URL", server.base_url)
    monkeypatch.setenv("REQUEST_DEADLINE_SECONDS", str(DEADLINE))
    return load_function("render")
