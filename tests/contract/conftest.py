"""The render function configured against the mock Segmind over real HTTP, as `make run` does."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest

from devkit.clock import no_wait
from devkit.functions import load_function
from mock_server import MockSegmind

#: The request deadline of these tests: room for a busy machine to answer in time.
DEADLINE = 10.0
#: The deadline of a test whose backend hangs: what it waits for is the deadline itself, and a
#: machine too busy to reach the backend in time gives the same answer, a 504.
HANG_DEADLINE = 2.0


@pytest.fixture(scope="module")
def server() -> Iterator[MockSegmind]:
    with MockSegmind(seed=3) as mock:
        yield mock


def _gateway(server: MockSegmind, aws: dict[str, Any], deadline: float) -> ModuleType:
    server.reset()
    boto3.client("secretsmanager").put_secret_value(
        SecretId=aws["secret_id"], SecretString=server.api_key
    )
    with pytest.MonkeyPatch.context() as patch:  # the settings are read as the function loads
        patch.setenv("SEGMIND_BASE_URL", server.base_url)
        patch.setenv("REQUEST_DEADLINE_SECONDS", str(deadline))
        return load_function("render", sleep=no_wait)


@pytest.fixture
def gateway(server: MockSegmind, aws: dict[str, Any]) -> ModuleType:
    """The render function with the Segmind key in its secret and the mock as its Segmind."""
    return _gateway(server, aws, DEADLINE)


@pytest.fixture
def impatient_gateway(server: MockSegmind, aws: dict[str, Any]) -> ModuleType:
    """The same with the deadline of a test whose backend hangs (:data:`HANG_DEADLINE`)."""
    return _gateway(server, aws, HANG_DEADLINE)
