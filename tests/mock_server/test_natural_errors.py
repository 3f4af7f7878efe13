"""Every error status the mock reaches on its own, the way Segmind would reach it."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from mock_server.contract import MAX_PROMPT_CHARS, MAX_SEED, MISSING_KEY_MESSAGE

PROMPT = "a lighthouse at dusk"

# -- 400: the request table (docs/contract.md), one rule at a time -------------------------

INVALID_FIELDS = [
    # (fields, the field the message must name)
    ({"prompt": None}, "prompt"),
    ({"prompt": 5}, "prompt"),
    ({"prompt": ["a"]}, "prompt"),
    ({"prompt": ""}, "prompt"),
    ({"prompt": " \t\n "}, "prompt"),
    ({"prompt": "x" * (MAX_PROMPT_CHARS + 1)}, "prompt"),
    ({"num_inference_steps": 3}, "num_inference_steps"),
    ({"num_inference_steps": 11}, "num_inference_steps"),
    ({"num_inference_steps": True}, "num_inference_steps"),
    ({"num_inference_steps": "4"}, "num_inference_steps"),
    ({"num_inference_steps": 4.5}, "num_inference_steps"),
    ({"num_inference_steps": 4.0}, "num_inference_steps"),
    ({"seed": -2}, "seed"),
    ({"seed": MAX_SEED + 1}, "seed"),
    ({"seed": True}, "seed"),
    ({"seed": "7"}, "seed"),
    ({"seed": 7.5}, "seed"),
    ({"img_width": 512}, "img_width"),
    ({"img_width": 1025}, "img_width"),
    ({"img_width": "1024"}, "img_width"),
    ({"img_width": False}, "img_width"),
    ({"img_height": 768}, "img_height"),
    ({"img_height": 1024.0}, "img_height"),
    ({"base64": 1}, "base64"),
    ({"base64": 0}, "base64"),
    ({"base64": "true"}, "base64"),
    ({"base64": "false"}, "base64"),
]


@pytest.mark.parametrize(
    ("fields", "field"),
    INVALID_FIELDS,
    ids=[f"{f}={next(iter(v.values()))!r:.20}" for v, f in INVALID_FIELDS],
)
def test_each_invalid_field_is_a_400_naming_the_field(segmind, fields, field):
    response = segmind.render({"prompt": PROMPT, **fields})
    segmind.assert_error(response, 400, mentions=field)
    assert response.headers["x-request-id"]


def test_a_missing_prompt_is_a_400(segmind):
    segmind.assert_error(segmind.render({"seed": 1}), 400, "prompt is required")


VALID_FIELDS = [
    {"prompt": "x" * MAX_PROMPT_CHARS},
    {"num_inference_steps": 4},
    {"num_inference_steps": 10},
    {"num_inference_steps": None},
    {"seed": -1},
    {"seed": 0},
    {"seed": MAX_SEED},
    {"seed": None},
    {"img_width": 1024, "img_height": 1024},
    {"img_width": None, "img_height": None},
    {"base64": False},
    {"base64": None},
    {"negative_prompt": "blurry", "guidance_scale": 1.5, "samples": 3},  # unknown: ignored
]


@pytest.mark.parametrize("fields", VALID_FIELDS, ids=",".join)
def test_edges_of_the_table_and_nulls_and_unknown_fields_are_accepted(segmind, fields):
    response = segmind.render({"prompt": PROMPT, **fields})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "image/jpeg"


def test_null_takes_the_default(segmind):
    explicit = segmind.render(
        {"prompt": PROMPT, "seed": 5, "num_inference_steps": 4, "base64": False}
    )
    nulls = segmind.render(
        {
            "prompt": PROMPT,
            "seed": 5,
            "num_inference_steps": None,
            "base64": None,
            "img_width": None,
            "img_height": None,
        }
    )
    assert nulls.content == explicit.content


BAD_BODIES = [
    (b"not json", "not valid JSON"),
    (b"", "not valid JSON"),
    (b'{"prompt": "a",}', "not valid JSON"),
    (b'\xff\xfe{"prompt": "a"}', "not valid JSON"),
    (b'{"prompt": "a", "seed": ' + b"1" * 5000 + b"}", "not valid JSON"),  # past int digits
    (b"[" * 30_000 + b"]" * 30_000, "not valid JSON"),  # past the recursion limit
    (b"[]", "JSON object"),
    (b'"a lighthouse"', "JSON object"),
    (b"42", "JSON object"),
    (b"null", "JSON object"),
]


@pytest.mark.parametrize(
    ("body", "words"),
    BAD_BODIES,
    ids=[
        "text",
        "empty",
        "trailing-comma",
        "bad-utf8",
        "long-int",
        "deep",
        "array",
        "string",
        "number",
        "null",
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_400(segmind, body, words):
    segmind.assert_error(segmind.render(body), 400, mentions=words)


def test_the_body_is_json_whatever_the_content_type_says(segmind):
    body = json.dumps({"prompt": PROMPT}).encode()
    response = segmind.render(body, headers={"Content-Type": "text/plain"})
    assert response.status_code == 200


def test_a_body_of_exactly_64_kib_is_read_and_one_byte_more_is_refused(segmind):
    def body_of(size: int) -> bytes:
        head = json.dumps({"prompt": PROMPT, "pad": ""}).encode()
        return head[:-2] + b"x" * (size - len(head)) + head[-2:]

    assert segmind.render(body_of(64 * 1024)).status_code == 200
    segmind.assert_error(segmind.render(body_of(64 * 1024 + 1)), 400, mentions="64 KiB")


def test_a_chunked_body_over_64_kib_is_refused(segmind):
    def chunks():
        yield b'{"prompt": "'
        for _ in range(20):
            yield b"x" * 4096
        yield b'"}'

    response = segmind.http.post(
        segmind.mock.endpoint,
        data=chunks(),
        timeout=30,
        headers={"x-api-key": segmind.mock.api_key},
    )
    segmind.assert_error(response, 400, mentions="64 KiB")


def test_a_lone_surrogate_in_the_prompt_is_still_a_prompt(segmind):
    response = segmind.render(b'{"prompt": "\\ud800 lighthouse"}')
    assert response.status_code == 200


# -- 401, 403: keys ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, MISSING_KEY_MESSAGE),
        ("", MISSING_KEY_MESSAGE),
        ("sg-no-such-key", "Unauthorized. API key is invalid or may have expired"),
    ],
    ids=["missing", "empty", "unknown"],
)
def test_a_missing_empty_or_unknown_key_is_a_401_in_segminds_words(segmind, key, message):
    segmind.assert_error(segmind.render(key=key), 401, message)


def test_a_disabled_key_is_a_403(segmind):
    segmind.assert_error(
        segmind.render(key=segmind.disabled_key), 403, "Forbidden. This API key is disabled"
    )


def test_the_key_is_checked_before_the_body(segmind):
    segmind.assert_error(segmind.render(b"not json", key="sg-no-such-key"), 401)


def test_every_accepted_key_renders(segmind):
    assert segmind.render(key=segmind.other_key).status_code == 200


# -- 404, 405: routes and methods ------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/v1/segmind-vega", "Model not found"),
        ("/v1/sdxl1.0-txt2img", "Model not found"),
        ("/", "Not found"),
        ("/v2/segmind-vega-rt-v1/extra", "Not found"),
        ("/v3/segmind-vega-rt-v1", "Not found"),
        ("/v1/segmind-vega-rt-v1/extra", "Model not found"),
    ],
)
def test_an_unknown_path_or_model_is_a_404(segmind, path, message):
    response = segmind.http.post(
        segmind.mock.url + path,
        json={"prompt": PROMPT},
        timeout=30,
        headers={"x-api-key": segmind.mock.api_key},
    )
    segmind.assert_error(response, 404, message)


@pytest.mark.parametrize(
    "method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND"]
)
def test_another_method_on_the_route_is_a_405(segmind, method):
    response = segmind.http.request(
        method, segmind.mock.endpoint, timeout=30, headers={"x-api-key": segmind.mock.api_key}
    )
    segmind.assert_error(response, 405, "Method not allowed")
    assert response.headers["Allow"] == "POST"


def test_head_on_the_route_is_a_405_without_a_body(segmind):
    response = segmind.http.head(segmind.mock.endpoint, timeout=30)
    assert response.status_code == 405
    assert response.content == b""


# -- 406: credits ------------------------------------------------------------------------------


def test_each_200_costs_a_credit_and_none_left_is_a_406(make_mock):
    segmind = make_mock(api_keys=("sg-a", "sg-b"), credits=2)
    assert [segmind.render(key="sg-a").headers["x-remaining-credits"] for _ in range(2)] == [
        "1",
        "0",
    ]
    segmind.assert_error(segmind.render(key="sg-a"), 406, "Insufficient credits")
    assert segmind.render(key="sg-b").status_code == 200, "credits are per key"
    assert segmind.mock.credits() == {"sg-a": 0, "sg-b": 1}


def test_failed_and_forced_answers_cost_no_credit(make_mock):
    segmind = make_mock(credits=1)
    segmind.render({"prompt": ""})
    segmind.render(headers={"Prefer": "code=500"})
    assert segmind.mock.credits() == {segmind.mock.api_key: 1}
    assert segmind.render().headers["x-remaining-credits"] == "0"


# -- 429: the rate window, on a clock that only moves when told ------------------------------


def _utc(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_over_the_rate_is_a_429_with_the_reset_time_and_no_retry_after(make_mock, clock):
    segmind = make_mock(rate_limit=2, clock=clock)
    start = clock.now
    assert [segmind.render().status_code for _ in range(2)] == [200, 200]
    clock.advance(59)
    limited = segmind.render()
    segmind.assert_error(limited, 429)
    assert limited.headers["x-rate-limit-reset-at-utc"] == _utc(start + 60)
    assert "Retry-After" not in limited.headers
    clock.advance(1)
    assert segmind.render().status_code == 200, "a new window opens after 60 s"


def test_retry_after_is_sent_only_when_asked_for(make_mock, clock):
    segmind = make_mock(rate_limit=1, retry_after=True, clock=clock)
    segmind.render()
    clock.advance(15)
    limited = segmind.render()
    segmind.assert_error(limited, 429)
    assert limited.headers["Retry-After"] == "45"


def test_the_rate_is_counted_per_key_and_a_limited_request_costs_nothing(make_mock, clock):
    segmind = make_mock(api_keys=("sg-a", "sg-b"), rate_limit=1, credits=5, clock=clock)
    segmind.render(key="sg-a")
    segmind.assert_error(segmind.render(key="sg-a"), 429)
    assert segmind.render(key="sg-b").status_code == 200
    assert segmind.mock.credits() == {"sg-a": 4, "sg-b": 4}


def test_the_rate_is_checked_before_the_body(make_mock, clock):
    segmind = make_mock(rate_limit=1, clock=clock)
    segmind.render()
    segmind.assert_error(segmind.render(b"not json"), 429)


def test_no_rate_limit_by_default(segmind):
    assert {segmind.render().status_code for _ in range(30)} == {200}


def test_a_request_without_a_key_is_never_rate_counted(make_mock, clock):
    segmind = make_mock(rate_limit=1, clock=clock)
    for _ in range(3):
        segmind.assert_error(segmind.render(key=None), 401, MISSING_KEY_MESSAGE)
    assert segmind.render().status_code == 200
