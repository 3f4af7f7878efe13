"""The local stack, started as ``make run`` starts it: ``python -m local_stack``, its own process.

One stack serves the session (starting one costs seconds); the mock behind it is reset before
each test. Render delay 0, so that a miss costs what the gateway costs.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devkit.resources import LOCAL_DEPLOYMENT
from devkit.stack_process import RunningStack, aws_client, create_key, start, stop

__all__ = ["RunningStack"]


@pytest.fixture(scope="session")
def local_stack() -> Iterator[RunningStack]:
    running = start()
    try:
        yield running
    finally:
        stop(running)


@pytest.fixture(scope="session")
def roomy_key(local_stack: RunningStack) -> str:
    """A key with a rate, a burst and credits that no test (fuzzing included) exhausts."""
    plain, _ = create_key(local_stack, "roomy", 1_000_000)
    return plain


def empty_the_cache(stack: RunningStack) -> None:
    """Forget every cached render, so that a test's first request is a miss whatever ran first."""
    s3 = aws_client(stack, "s3")
    bucket = LOCAL_DEPLOYMENT.bucket
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])


@pytest.fixture
def stack(local_stack: RunningStack) -> RunningStack:
    local_stack.mock.reset()
    empty_the_cache(local_stack)
    return local_stack
