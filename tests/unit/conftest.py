"""Fixtures of the functions' unit tests: the render function and a Segmind answering well."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
import responses

from devkit.functions import load_function
from mock_server import render_jpeg

URL = "https://api.segmind.test/v1/segmind-vega-rt-v1"


@pytest.fixture
def fn(aws: dict[str, Any]) -> ModuleType:
    return load_function("render")


@pytest.fixture
def segmind() -> Iterator[responses.RequestsMock]:
    """Segmind answering like the real one: an image that depends on prompt, seed and steps."""

    def answer(request: Any) -> tuple[int, dict[str, str], bytes]:
        body = json.loads(request.body)
        image = render_jpeg(body["prompt"], body["seed"], body["num_inference_steps"])
        return 200, {"Content-Type": "image/jpeg", "x-remaining-credits": "99"}, image

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, URL, callback=answer)
        yield mock
