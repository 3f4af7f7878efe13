"""The render function end to end in process: API Gateway event in, proxy response out.

AWS is moto, Segmind is ``responses``; every row of the contract the function owns is here.
"""

from __future__ import annotations

import base64
import json
from types import ModuleType
from typing import Any

import pytest
import responses

from devkit.context import still_context
from devkit.deployment import SEGMIND_TEST_KEY
from devkit.events import (
    CLIENT_KEY_ID,
    api_event,
    header,
    preflight_event,
    response_body,
    response_json,
)
from mock_server import render_jpeg
from tests.helpers.functions import Broken
from vegart.render.jpeg import jpeg_size

URL = "https://api.segmind.test/v1/segmind-vega-rt-v1"
PROMPT = {"prompt": "a lighthouse at dusk", "seed": 758143278}


def invoke(fn: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    return fn.lambda_handler(event, still_context())


def assert_error(response: dict[str, Any], status: int, *words: str) -> str:
    assert response["statusCode"] == status
    assert header(response, "Content-Type") == "application/json"
    body = response_json(response)
    assert set(body) == {"error"}
    assert isinstance(body["error"], str) and body["error"]
    for word in words:
        assert word in body["error"]
    return body["error"]


def test_a_render_answers_raw_jpeg_bytes_with_every_header(
    fn: ModuleType, segmind: responses.RequestsMock
) -> None:
    event = api_event(PROMPT)
    response = invoke(fn, event)
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is True
    assert header(response, "Content-Type") == "image/jpeg"
    image = response_body(response)
    assert jpeg_size(image) == (1024, 1024)
    assert image == render_jpeg(PROMPT["prompt"], PROMPT["seed"], 4)
    assert header(response, "x-seed-value") == "758143278"
    assert header(response, "x-request-id") == event["requestContext"]["requestId"]
    assert header(response, "x-cache") == "MISS"
    etag = header(response, "ETag")
    assert etag and etag.startswith('"')
    sent = segmind.calls[0].request
    assert sent.headers["x-api-key"] == SEGMIND_TEST_KEY  # the gateway's key, not the client's
    # Segmind's own account balance is never passed on to clients.
    assert header(response, "x-remaining-credits") != "99"


def test_base64_true_answers_json_with_the_image(
    fn: ModuleType, segmind: responses.RequestsMock
) -> None:
    response = invoke(fn, api_event({**PROMPT, "base64": True}))
    assert response["statusCode"] == 200
    assert header(response, "Content-Type") == "application/json"
    body = response_json(response)
    assert base64.b64decode(body["image"]) == render_jpeg(PROMPT["prompt"], PROMPT["seed"], 4)
    assert body["seed"] == PROMPT["seed"]
    assert header(response, "x-cache") == "MISS"


def test_a_repeated_request_is_a_cache_hit_without_a_backend_call(
    fn: ModuleType, segmind: responses.RequestsMock
) -> None:
    first = invoke(fn, api_event(PROMPT))
    second = invoke(fn, api_event({**PROMPT, "base64": True}))
    third, fourth = (invoke(fn, api_event({**PROMPT, "base64": b})) for b in (False, True))
    assert header(second, "x-cache") == "HIT"
    assert base64.b64decode(response_json(second)["image"]) == response_body(first)
    assert len(segmind.calls) == 1
    # A strong ETag promises equal bytes: one per representation of the same image.
    assert header(third, "ETag") == header(first, "ETag")
    assert header(fourth, "ETag") == header(second, "ETag")
    assert header(second, "ETag") != header(first, "ETag")


def test_seed_minus_one_is_resolved_before_the_cache_and_reported(
    fn: ModuleType, segmind: responses.RequestsMock
) -> None:
    first = invoke(fn, api_event({"prompt": "a fox"}))
    seed = int(header(first, "x-seed-value") or "-1")
    assert 0 <= seed < 2**32
    assert json.loads(segmind.calls[0].request.body)["seed"] == seed
    again = invoke(fn, api_event({"prompt": "a fox", "seed": seed}))
    assert header(again, "x-cache") == "HIT"
    assert response_body(again) == response_body(first)


def test_a_cached_render_records_what_made_it(
    fn: ModuleType, segmind: responses.RequestsMock, s3: Any, aws: dict[str, Any]
) -> None:
    invoke(fn, api_event(PROMPT))
    (obj,) = s3.list_objects_v2(Bucket=aws["bucket"])["Contents"]
    meta = s3.head_object(Bucket=aws["bucket"], Key=obj["Key"])["Metadata"]
    assert obj["Key"].startswith("v1/segmind/segmind-vega-rt-v1/")
    assert meta["seed"] == "758143278" and meta["steps"] == "4"
    assert meta["backend"] == "segmind" and meta["model"] == "segmind-vega-rt-v1"
    assert len(meta["prompt-sha256"]) == 64 and meta["prompt-length"] == "20"
    assert PROMPT["prompt"] not in json.dumps(meta)


def test_the_cache_being_down_serves_the_request_as_a_miss(
    fn: ModuleType, segmind: responses.RequestsMock, s3: Any, aws: dict[str, Any]
) -> None:
    s3.delete_bucket(Bucket=aws["bucket"])
    for _ in range(2):
        response = invoke(fn, api_event(PROMPT))
        assert response["statusCode"] == 200
        assert header(response, "x-cache") == "MISS"
    assert len(segmind.calls) == 2


@pytest.mark.parametrize(
    "upstream",
    [
        {"body": b"<html>Bad gateway</html>", "status": 200, "content_type": "text/html"},
        {"body": render_jpeg("cut", 1, 4)[:9000], "status": 200, "content_type": "image/jpeg"},
    ],
)
def test_a_non_jpeg_or_cut_off_upstream_body_is_a_502_and_nothing_is_cached(
    fn: ModuleType, s3: Any, aws: dict[str, Any], upstream: dict[str, Any]
) -> None:
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, URL, **upstream)
        response = invoke(fn, api_event(PROMPT))
    assert_error(response, 502)
    assert s3.list_objects_v2(Bucket=aws["bucket"]).get("KeyCount") == 0


@pytest.mark.parametrize(
    ("upstream_status", "status"),
    [
        (400, 400),
        (401, 502),
        (403, 502),
        (404, 502),
        (406, 502),
        (429, 429),
        (500, 502),
        (502, 502),
        (503, 502),
        (504, 504),
    ],
)
def test_every_backend_status_maps_per_the_contract(
    fn: ModuleType, upstream_status: int, status: int
) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(
            responses.POST,
            URL,
            json={"error": "upstream says no"},
            status=upstream_status,
            headers={"Retry-After": "60"} if upstream_status == 429 else {},
        )
        response = invoke(fn, api_event(PROMPT))
    message = assert_error(response, status)
    if status == 400:
        assert message == "upstream says no"
    if status == 429:
        assert header(response, "Retry-After") == "60"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "prompt"),
        ({"prompt": "a", "num_inference_steps": 11}, "num_inference_steps"),
        ({"prompt": "a", "seed": "1"}, "seed"),
        ({"prompt": "a", "img_width": 512}, "img_width"),
        ({"prompt": "a", "img_height": True}, "img_height"),
        ({"prompt": "a", "base64": 1}, "base64"),
    ],
)
def test_a_bad_field_is_a_400_naming_it_and_reaches_no_backend(
    fn: ModuleType, body: Any, field: str
) -> None:
    with responses.RequestsMock() as mock:
        response = invoke(fn, api_event(body))
        assert len(mock.calls) == 0
    assert_error(response, 400, field)


@pytest.mark.parametrize("encode", [True, False])
def test_a_body_that_is_not_json_is_a_400_whatever_the_encoding(
    fn: ModuleType, encode: bool
) -> None:
    assert_error(invoke(fn, api_event(raw_body=b"prompt=a fox", encode=encode)), 400, "JSON")


def test_a_body_without_content_type_is_still_parsed_as_json(
    fn: ModuleType, segmind: responses.RequestsMock
) -> None:
    event = api_event(PROMPT, headers={"Content-Type": "text/plain"})
    assert invoke(fn, event)["statusCode"] == 200


def test_a_body_over_64_kib_is_a_400(fn: ModuleType) -> None:
    raw = json.dumps({"prompt": "a", "pad": "x" * 70_000}).encode()
    assert_error(invoke(fn, api_event(raw_body=raw)), 400, "64 KiB")


def test_an_unknown_path_is_a_404(fn: ModuleType) -> None:
    assert_error(invoke(fn, api_event(PROMPT, path="/v1/other-model")), 404)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_another_method_on_the_route_is_a_405(fn: ModuleType, method: str) -> None:
    response = invoke(fn, api_event(None, method=method))
    assert_error(response, 405)
    assert "POST" in (header(response, "Allow") or "")


def test_the_preflight_answers_without_a_key_and_allows_the_contracts_headers(
    fn: ModuleType,
) -> None:
    event = preflight_event()
    response = invoke(fn, event)
    assert response["statusCode"] == 204
    allowed = (header(response, "Access-Control-Allow-Headers") or "").lower()
    assert "x-api-key" in allowed and "content-type" in allowed
    assert "POST" in (header(response, "Access-Control-Allow-Methods") or "")
    assert header(response, "Access-Control-Allow-Origin") in ("*", "https://app.example.com")


@pytest.mark.parametrize("body", [PROMPT, {}])
def test_answers_carry_cors_headers_for_a_page(
    fn: ModuleType, segmind: responses.RequestsMock, body: dict[str, Any]
) -> None:
    response = invoke(fn, api_event(body, headers={"Origin": "https://app.example.com"}))
    assert header(response, "Access-Control-Allow-Origin") in ("*", "https://app.example.com")
    exposed = (header(response, "Access-Control-Expose-Headers") or "").lower()
    for name in ("x-seed-value", "x-cache", "x-remaining-credits", "x-request-id"):
        assert name in exposed


def test_an_unexpected_fault_is_a_500_without_details(
    fn: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fn.wiring, "render_service", Broken("secret internal detail at 10.0.0.7"))
    response = invoke(fn, api_event(PROMPT))
    message = assert_error(response, 500)
    assert "10.0.0.7" not in message and "RuntimeError" not in message


def test_a_missing_segmind_secret_is_a_502(fn: ModuleType, aws: dict[str, Any]) -> None:
    import boto3

    boto3.client("secretsmanager").delete_secret(
        SecretId=aws["secret_id"], ForceDeleteWithoutRecovery=True
    )
    with responses.RequestsMock() as mock:
        response = invoke(fn, api_event(PROMPT))
        assert len(mock.calls) == 0
    assert_error(response, 502)


def test_a_key_disabled_since_its_authorization_gets_no_cache_hit(
    fn: ModuleType, segmind: responses.RequestsMock, keys: Any
) -> None:
    """The authorizer's answer is cached for minutes; the hit path reads the key itself."""
    assert invoke(fn, api_event(PROMPT))["statusCode"] == 200
    keys.update(CLIENT_KEY_ID, status="disabled")
    for body in (PROMPT, {**PROMPT, "seed": 1}):  # a hit, and a miss
        assert_error(invoke(fn, api_event(body)), 403, "disabled")
    assert len(segmind.calls) == 1


@pytest.mark.parametrize(
    ("event", "status"),
    [
        (api_event(PROMPT), 200),
        (api_event({"prompt": ""}), 400),
        (api_event(PROMPT, key_id=None), 401),
        (api_event(None, method="GET"), 405),
        (api_event(PROMPT, path="/v1/another-model"), 404),
    ],
    ids=["200", "400", "401", "405", "404"],
)
def test_every_answer_carries_allow_origin_even_without_an_origin(
    fn: ModuleType, segmind: responses.RequestsMock, event: dict[str, Any], status: int
) -> None:
    assert "Origin" not in event["headers"]
    response = invoke(fn, event)
    assert response["statusCode"] == status
    assert header(response, "Access-Control-Allow-Origin") == "*"
    assert "x-request-id" in (header(response, "Access-Control-Expose-Headers") or "")
