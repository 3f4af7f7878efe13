"""The SageMaker backend: every answer of InvokeEndpoint mapped as the contract's table says.

ClientErrors come from botocore's Stubber (a real client, real error parsing); transport
faults, which the Stubber cannot raise, from a scripted client; and the render function
end to end against moto's sagemaker-runtime.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import (
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.response import StreamingBody
from botocore.stub import Stubber
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT_ID
from moto.sagemakerruntime.models import sagemakerruntime_backends

from devkit.context import still_context
from devkit.events import api_event, header, response_json
from devkit.functions import ROOT, load_function
from devkit.sagemaker_endpoint import NO_CAPACITY_MESSAGE
from mock_server import render_jpeg
from vegart.backends.sagemaker import (
    BAD_REQUEST_PREFIX,
    NO_CAPACITY_RETRY_AFTER_SECONDS,
    SageMakerBackend,
)
from vegart.cache_key import RenderSpec, cache_key
from vegart.deadline import Deadline
from vegart.errors import (
    BadGateway,
    BadRequest,
    GatewayTimeout,
    NoCapacity,
    RateLimited,
)
from vegart.leases import RenderLeases
from vegart.retry import RetryPolicy

ENDPOINT = "vegart-render"
SPEC = RenderSpec(
    backend="sagemaker",
    model="segmind-vega-rt-v1",
    prompt="a fox",
    seed=7,
    num_inference_steps=4,
    img_width=1024,
    img_height=1024,
)
IMAGE = render_jpeg("a fox", 7, 4)
EXPECTED_BODY = {
    "prompt": "a fox",
    "seed": 7,
    "num_inference_steps": 4,
    "img_width": 1024,
    "img_height": 1024,
}
MSG = "prompt must not be empty or only white space"
FAST = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0, min_attempt_seconds=0.0)


@pytest.fixture
def client() -> Iterator[tuple[Any, Stubber]]:
    sagemaker = boto3.client("sagemaker-runtime", region_name="us-east-1")
    with Stubber(sagemaker) as stubber:
        yield sagemaker, stubber
        stubber.assert_no_pending_responses()


def backend(sagemaker: Any) -> SageMakerBackend:
    return SageMakerBackend(ENDPOINT, lambda _: sagemaker, policy=FAST, sleep=lambda _: None)


def ok(stubber: Stubber) -> None:
    stubber.add_response(
        "invoke_endpoint",
        {"Body": StreamingBody(io.BytesIO(IMAGE), len(IMAGE)), "ContentType": "image/jpeg"},
        {
            "EndpointName": ENDPOINT,
            "Body": json.dumps(EXPECTED_BODY).encode(),
            "ContentType": "application/json",
            "Accept": "image/jpeg",
        },
    )


def fail(stubber: Stubber, code: str, status: int, **fields: Any) -> None:
    stubber.add_client_error(
        "invoke_endpoint",
        service_error_code=code,
        http_status_code=status,
        service_message=code,
        modeled_fields=fields or None,
    )


def render(sagemaker: Any, seconds: float = 20.0) -> bytes:
    return backend(sagemaker).render(SPEC, Deadline.after(seconds))


def test_an_image_comes_back_for_the_gateways_json(client: tuple[Any, Stubber]) -> None:
    sagemaker, stubber = client
    ok(stubber)
    assert render(sagemaker) == IMAGE


def test_a_model_400_is_the_clients_400_with_the_models_message(
    client: tuple[Any, Stubber],
) -> None:
    sagemaker, stubber = client
    refusal = {"code": 400, "type": "InternalServerException", "message": "bad_request: " + MSG}
    fail(stubber, "ModelError", 424, OriginalStatusCode=400, OriginalMessage=json.dumps(refusal))
    with pytest.raises(BadRequest) as raised:
        render(sagemaker)
    assert raised.value.message == MSG


def test_a_model_fault_answered_as_400_is_still_a_fault(client: tuple[Any, Stubber]) -> None:
    # The toolkit answers every exception of a hook as 400, a CUDA fault included.
    sagemaker, stubber = client
    fault = {"code": 400, "type": "InternalServerException", "message": "CUDA out of memory"}
    for _ in range(3):
        fail(stubber, "ModelError", 424, OriginalStatusCode=400, OriginalMessage=json.dumps(fault))
    with pytest.raises(BadGateway):
        render(sagemaker)


def test_another_model_error_is_retried_then_502(client: tuple[Any, Stubber]) -> None:
    sagemaker, stubber = client
    for _ in range(3):
        fail(stubber, "ModelError", 424, OriginalStatusCode=500, OriginalMessage="boom")
    with pytest.raises(BadGateway):
        render(sagemaker)


@pytest.mark.parametrize(
    ("code", "status"), [("ModelNotReadyException", 429), ("ThrottlingException", 400)]
)
def test_not_ready_and_throttling_are_retried_then_429(
    client: tuple[Any, Stubber], code: str, status: int
) -> None:
    sagemaker, stubber = client
    for _ in range(3):
        fail(stubber, code, status)
    with pytest.raises(RateLimited) as raised:
        render(sagemaker)
    assert int(raised.value.headers["Retry-After"]) >= 1


def test_a_retry_that_succeeds_gives_the_image(client: tuple[Any, Stubber]) -> None:
    sagemaker, stubber = client
    fail(stubber, "ModelNotReadyException", 429)
    fail(stubber, "ServiceUnavailable", 503)
    ok(stubber)
    assert render(sagemaker) == IMAGE


@pytest.mark.parametrize(
    ("code", "status"),
    [("ServiceUnavailable", 503), ("InternalFailure", 500), ("InternalDependencyException", 530)],
)
def test_unavailable_is_retried_then_502(
    client: tuple[Any, Stubber], code: str, status: int
) -> None:
    sagemaker, stubber = client
    for _ in range(3):
        fail(stubber, code, status)
    with pytest.raises(BadGateway):
        render(sagemaker)


def test_a_deployment_fault_is_502_at_once(client: tuple[Any, Stubber]) -> None:
    sagemaker, stubber = client
    fail(stubber, "ValidationError", 400)  # e.g. no such endpoint: no retry can fix it
    with pytest.raises(BadGateway):
        render(sagemaker)


def test_zero_copies_is_a_429_at_once_and_no_account_alarm(client: tuple[Any, Stubber]) -> None:
    from vegart.observability import metrics

    sagemaker, stubber = client
    metrics.clear_metrics()
    stubber.add_client_error(
        "invoke_endpoint",
        service_error_code="ValidationError",
        http_status_code=400,
        service_message=NO_CAPACITY_MESSAGE,
    )
    with pytest.raises(NoCapacity) as raised:
        render(sagemaker)  # one answer queued: a retry would find the Stubber empty
    assert raised.value.status == 429
    assert raised.value.headers == {"Retry-After": str(NO_CAPACITY_RETRY_AFTER_SECONDS)}
    assert "BackendNoCapacity" in metrics.metric_set
    assert "UpstreamAccountErrors" not in metrics.metric_set
    metrics.clear_metrics()


def test_the_call_names_the_inference_component(client: tuple[Any, Stubber]) -> None:
    sagemaker, stubber = client
    stubber.add_response(
        "invoke_endpoint",
        {"Body": StreamingBody(io.BytesIO(IMAGE), len(IMAGE)), "ContentType": "image/jpeg"},
        {
            "EndpointName": ENDPOINT,
            "InferenceComponentName": "vegart-render-component",
            "Body": json.dumps(EXPECTED_BODY).encode(),
            "ContentType": "application/json",
            "Accept": "image/jpeg",
        },
    )
    named = SageMakerBackend(
        ENDPOINT, lambda _: sagemaker, component="vegart-render-component", policy=FAST
    )
    assert named.render(SPEC, Deadline.after(20.0)) == IMAGE


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


class ScriptedClient:
    """A sagemaker-runtime client that raises transport faults, which Stubber cannot."""

    def __init__(self, *outcomes: Exception | bytes) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    def invoke_endpoint(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return {"Body": io.BytesIO(outcome)}


def test_no_answer_in_time_is_504() -> None:
    scripted = ScriptedClient(ReadTimeoutError(endpoint_url="https://runtime.sagemaker"))
    with pytest.raises(GatewayTimeout):
        render(scripted)
    assert scripted.calls == 1


def test_a_fault_then_no_answer_in_time_is_502_not_504() -> None:
    """The endpoint failed first: running out of time on the retry keeps it a 502."""
    scripted = ScriptedClient(
        EndpointConnectionError(endpoint_url="https://runtime.sagemaker"),
        ReadTimeoutError(endpoint_url="https://runtime.sagemaker"),
    )
    with pytest.raises(BadGateway):
        render(scripted)
    assert scripted.calls == 2


def test_a_deadline_already_spent_is_504_without_a_call() -> None:
    scripted = ScriptedClient(IMAGE)
    with pytest.raises(GatewayTimeout):
        render(scripted, seconds=0.5)
    assert scripted.calls == 0


def test_connection_faults_are_retried() -> None:
    scripted = ScriptedClient(
        EndpointConnectionError(endpoint_url="https://runtime.sagemaker"),
        ConnectionClosedError(endpoint_url="https://runtime.sagemaker"),
        IMAGE,
    )
    assert render(scripted) == IMAGE
    assert scripted.calls == 3


def test_each_call_gets_a_read_timeout_within_the_deadline() -> None:
    asked: list[float] = []
    scripted = ScriptedClient(IMAGE)

    def factory(seconds: float) -> ScriptedClient:
        asked.append(seconds)
        return scripted

    SageMakerBackend(ENDPOINT, factory).render(SPEC, Deadline.after(12.7))
    assert asked == [12.0]


def test_cache_keys_differ_between_backends() -> None:
    segmind = RenderSpec(**{**SPEC.__dict__, "backend": "segmind"})
    assert cache_key(SPEC) != cache_key(segmind)
    assert "/sagemaker/" in cache_key(SPEC)


def test_the_refusal_prefix_is_the_model_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    # render_request.py is standard library only: loading it pulls in no torch.
    path = ROOT / "sagemaker" / "code" / "render_request.py"
    spec = importlib.util.spec_from_file_location("vegart_model_render_request", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look themselves up there
    spec.loader.exec_module(module)
    assert module.BAD_REQUEST_PREFIX.strip() == BAD_REQUEST_PREFIX


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
    fn = load_function("render")
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
