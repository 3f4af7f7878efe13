"""The whole render function, with moto for AWS and the mock Segmind over real HTTP."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from devkit.context import still_context
from devkit.events import api_event, header
from devkit.events import response_body as body_of
from mock_server import MockSegmind, render_jpeg

PROMPT = {"prompt": "a lighthouse at dusk", "seed": 758143278}


def call(fn: ModuleType, body: dict[str, Any]) -> dict[str, Any]:
    return fn.lambda_handler(api_event(body), still_context())


def test_a_miss_then_a_hit_calls_segmind_once(gateway: ModuleType, server: MockSegmind) -> None:
    first = call(gateway, PROMPT)
    second = call(gateway, PROMPT)
    assert [header(r, "x-cache") for r in (first, second)] == ["MISS", "HIT"]
    assert body_of(first) == body_of(second) == render_jpeg(PROMPT["prompt"], PROMPT["seed"], 4)
    assert len(server.requests()) == 1


def test_429_429_then_200_reaches_the_client_as_one_200(
    gateway: ModuleType, server: MockSegmind
) -> None:
    # Each forced 429 asks for up to a second's wait, which fits the deadline (and is waited
    # out at once: the function's sleep is a test's).
    server.enqueue({"status": 429, "times": 2})
    response = call(gateway, PROMPT)
    assert response["statusCode"] == 200
    assert [e["outcome"]["status"] for e in server.requests()] == [429, 429, 200]


@pytest.mark.parametrize(
    ("entry", "status"),
    [
        ({"status": 400}, 400),
        ({"status": 401}, 502),
        ({"status": 406}, 502),
        ({"status": 502, "times": 4}, 502),
        ({"fault": "connection_reset", "times": 4}, 502),
        ({"status": 504}, 504),
        ({"fault": "hang"}, 504),
    ],
)
def test_backend_failures_reach_the_client_as_the_contract_says(
    request: pytest.FixtureRequest,
    server: MockSegmind,
    s3: Any,
    aws: dict[str, Any],
    entry: dict[str, Any],
    status: int,
) -> None:
    # A hang lasts as long as the connection: that the call returns at all is the deadline's
    # doing, so it gets the short one.
    hangs = entry.get("fault") == "hang"
    gateway = request.getfixturevalue("impatient_gateway" if hangs else "gateway")
    server.enqueue(entry)
    response = call(gateway, PROMPT)
    assert response["statusCode"] == status
    assert s3.list_objects_v2(Bucket=aws["bucket"]).get("KeyCount") == 0
