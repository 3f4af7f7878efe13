"""The SageMaker backend: every answer of InvokeEndpoint mapped as the contract's table says.

ClientErrors come from botocore's Stubber (a real client, real error parsing); transport
faults, which the Stubber cannot raise, from a scripted client (the render function end to end
against moto's sagemaker-runtime: tests/functional/test_sagemaker_function.py).
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import (
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.response import StreamingBody
from botocore.stub import Stubber

from devkit.functions import ROOT
from devkit.sagemaker_endpoint import NO_CAPACITY_MESSAGE
from mock_server import render_jpeg
from tests.helpers.sagemaker import ENDPOINT, EXPECTED_BODY, SPEC
from vegart.deadline import Deadline
from vegart.errors import (
    BadGateway,
    BadRequest,
    GatewayTimeout,
    NoCapacity,
    RateLimited,
)
from vegart.render.backends.retry import RetryPolicy
from vegart.render.backends.sagemaker import (
    BAD_REQUEST_PREFIX,
    NO_CAPACITY_RETRY_AFTER_SECONDS,
    SageMakerBackend,
)
from vegart.render.spec import RenderSpec, cache_key

IMAGE = render_jpeg("a fox", 7, 4)
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
