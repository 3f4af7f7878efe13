"""The sample events in ``events/`` (for ``sam local invoke``) give the answers they promise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses

from devkit.clock import no_wait
from devkit.context import still_context
from devkit.events import header
from devkit.functions import load_function
from mock_server import render_jpeg

EVENTS = Path(__file__).resolve().parents[2] / "events"
EXPECTED = {
    "render": 200,
    "render-base64": 200,
    "render-random-seed": 200,
    "bad-request": 400,
    "preflight": 204,
    "submit": 200,  # a v2 job, for the jobs function
}


def test_every_sample_event_is_covered() -> None:
    assert {p.stem for p in EVENTS.glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize(("name", "status"), sorted(EXPECTED.items()))
def test_a_sample_event_gets_its_answer(aws: dict[str, Any], name: str, status: int) -> None:
    event = json.loads((EVENTS / f"{name}.json").read_text())
    fn = load_function("jobs" if name == "submit" else "render", sleep=no_wait)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as upstream:
        upstream.add(
            responses.POST,
            "https://api.segmind.test/v1/segmind-vega-rt-v1",
            body=render_jpeg("sample", 1, 4),
            content_type="image/jpeg",
        )
        response = fn.lambda_handler(event, still_context())
    assert response["statusCode"] == status
    if status == 200:
        assert header(response, "x-request-id") == f"sample-{name}"
