"""Fixtures of the functional tests (functions and stores in moto): the render function, the v2
functions, and a Segmind answering well."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
import responses

from devkit.clock import no_wait
from devkit.functions import load_function
from mock_server import render_jpeg
from tests.helpers.functions import URL, Jobs


@pytest.fixture
def fn(aws: dict[str, Any]) -> ModuleType:
    return load_function("render", sleep=no_wait)


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


@pytest.fixture
def jobs(aws: dict[str, Any]) -> Jobs:
    return Jobs(aws)
