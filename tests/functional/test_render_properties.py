"""Properties, with Hypothesis, through the render function in process (moto for AWS,
``responses`` for Segmind): any JSON in any field of a request is rendered (200) when the
contract's table allows it, or is a 400 whose message names a field that breaks the table."""

from __future__ import annotations

import base64
from types import ModuleType

import pytest
import responses
from hypothesis import HealthCheck, given, settings

from devkit.context import still_context
from devkit.events import api_event, header, response_json
from tests.helpers.request_table import FIELDS, bodies, judge


@given(body=bodies())
@settings(
    max_examples=100,
    database=None,
    deadline=None,
    # One moto deployment serves every example: the function keeps no state between requests
    # that could make one example's answer depend on another's, but for the cache and the
    # credits, which only decide HIT or MISS and the balance.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_render_function_answers_200_or_a_400_naming_a_bad_field(
    fn: ModuleType, segmind: responses.RequestsMock, body: dict
) -> None:
    bad, values = judge(body)
    response = fn.lambda_handler(api_event(body), still_context())
    status = response["statusCode"]
    if not bad:
        assert status == 200, response_json(response)
        assert header(response, "x-cache") in ("HIT", "MISS")
        if values["seed"] != -1:
            assert header(response, "x-seed-value") == str(values["seed"])
        if values["base64"]:
            assert header(response, "Content-Type") == "application/json"
            assert base64.b64decode(response_json(response)["image"])[:2] == b"\xff\xd8"
        else:
            assert header(response, "Content-Type") == "image/jpeg"
        return
    assert status == 400, response.get("body")
    assert header(response, "Content-Type") == "application/json"
    answer = response_json(response)
    assert set(answer) == {"error"}
    named = [name for name in FIELDS if name in answer["error"]]
    assert named, answer
    assert set(named) <= set(bad), (answer, bad)


@pytest.mark.parametrize("raw", [b"\x80", b"\xed\xa0\x80", b'{"prompt": "caf\xe9"}'])
def test_a_body_that_is_not_utf8_is_a_400_naming_the_body(fn: ModuleType, raw: bytes) -> None:
    # The gateway once read Powertools' decoded_body, a UTF-8 decode outside the JSON
    # validation's error handling, and answered these with 500.
    response = fn.lambda_handler(api_event(raw_body=raw), still_context())
    assert response["statusCode"] == 400
    assert response_json(response) == {"error": "Request body must be valid JSON"}
