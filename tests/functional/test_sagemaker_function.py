"""The render function on the SageMaker backend, end to end against moto's sagemaker-runtime,
and a render refused for want of a GPU copy as its watchers see it (the backend's mapping of
every answer: tests/unit/test_sagemaker_backend.py)."""

from __future__ import annotations

import base64
import json
from typing import Any

import boto3
import pytest
import requests
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT_ID
from moto.sagemakerruntime.models import sagemakerruntime_backends

from devkit.clock import no_wait
from devkit.context import still_context
from devkit.events import api_event, header, response_json
from devkit.functions import load_function
from tests.helpers.sagemaker import ENDPOINT, EXPECTED_BODY
from vegart.errors import (
    NoCapacity,
    RateLimited,
)
from vegart.render.leases import RenderLeases


def test_a_watcher_of_a_render_refused_for_capacity_gets_the_same_error(
    aws: dict[str, Any],
) -> None:
    # What the render lease hands the requests that coalesced on the refused render.
    leases = RenderLeases(aws["leases_table"], lambda: boto3.client("dynamodb"))
    for refusal, kind in ((NoCapacity(retry_after=60), NoCapacity), (RateLimited(), RateLimited)):
        claim = leases.acquire(f"render-{kind.__name__}", 30)
        assert claim.token is not None
        leases.fail(f"render-{kind.__name__}", claim.token, refusal)
        lease = leases.read(f"render-{kind.__name__}")
        assert lease is not None and lease.failure is not None
        error = lease.failure.error()
        assert type(error) is kind
        assert (error.message, error.headers) == (refusal.message, refusal.headers)


# -- the render function against moto's sagemaker-runtime -------------------------------------


@pytest.fixture
def sagemaker_deployment(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("VEGART_BACKEND", "sagemaker")
    monkeypatch.setenv("SAGEMAKER_ENDPOINT_NAME", ENDPOINT)
    return aws


def canned(*bodies: str) -> None:
    """Queue InvokeEndpoint results in moto (it keeps bodies as text, so no real JPEG)."""
    results = [{"Body": body, "ContentType": "image/jpeg"} for body in bodies]
    requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/sagemaker/endpoint-results",
        json={"results": results},
        timeout=5,
    )


def test_the_function_refuses_a_non_jpeg_from_the_endpoint(
    sagemaker_deployment: dict[str, Any], s3: Any, keys: Any
) -> None:
    canned("this is not a jpeg")
    fn = load_function("render", sleep=no_wait)
    before = keys.require(sagemaker_deployment["client_key_id"]).credits
    response = fn.lambda_handler(api_event({"prompt": "a fox", "seed": 1}), still_context())
    assert response["statusCode"] == 502
    assert set(response_json(response)) == {"error"}
    assert header(response, "x-remaining-credits") is None
    assert s3.list_objects_v2(Bucket=sagemaker_deployment["bucket"]).get("KeyCount") == 0
    assert keys.require(sagemaker_deployment["client_key_id"]).credits == before
    # The call reached moto's endpoint, with the gateway's JSON and Accept: image/jpeg.
    # (moto 5.2 files it under no endpoint name: it does not read the path's parameter)
    backend_state = sagemakerruntime_backends[ACCOUNT_ID]["us-east-1"]
    (asked,) = [request for results in backend_state.results.values() for request in results]
    request = json.loads(base64.b64decode(asked))
    assert request["Accept"] == "image/jpeg"
    assert json.loads(request["Body"]) == {**EXPECTED_BODY, "prompt": "a fox", "seed": 1}
