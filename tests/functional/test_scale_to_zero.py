"""A GPU endpoint scaled to zero copies, met over real HTTP: the render function and the v2
functions against a stand-in that answers InvokeEndpoint as SageMaker does while an inference
component has no copy (devkit.sagemaker_endpoint), parsed by the real botocore.

A v1 request gets the contract's 429 with ``Retry-After`` at once and is charged nothing; a v2
job waits in its queue, spending none of its message's deliveries, and completes once a copy
is up, or is given up at its bound like any job.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from devkit.clock import no_wait
from devkit.context import still_context
from devkit.events import api_event, header, response_body, response_json
from devkit.functions import load_function
from devkit.sagemaker_endpoint import SageMakerEndpoint
from mock_server import render_jpeg
from tests.helpers.deployment import CLIENT_CREDITS, credits
from tests.helpers.functions import Jobs
from vegart.errors import InternalError, NoCapacity
from vegart.jobs import worker
from vegart.keys import KeyStore
from vegart.render.backends.sagemaker import NO_CAPACITY_RETRY_AFTER_SECONDS

ENDPOINT = "vegart-render-local"
COMPONENT = "vegart-render-local"
FOX = {"prompt": "a fox in the snow", "seed": 7}
#: More looks than the job queue's maxReceiveCount (5): waiting must not use deliveries up.
LOOKS = 7


@pytest.fixture
def endpoint(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[SageMakerEndpoint]:
    """The deployment on Backend=sagemaker, its endpoint at zero copies."""
    with SageMakerEndpoint.running(ENDPOINT, COMPONENT, copies=0) as stand_in:
        monkeypatch.setenv("VEGART_BACKEND", "sagemaker")
        monkeypatch.setenv("SAGEMAKER_ENDPOINT_NAME", ENDPOINT)
        monkeypatch.setenv("SAGEMAKER_INFERENCE_COMPONENT", COMPONENT)
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", stand_in.url)
        yield stand_in


def test_v1_at_zero_copies_is_a_429_at_once_that_costs_nothing(
    endpoint: SageMakerEndpoint, aws: dict[str, Any], keys: KeyStore, s3: Any
) -> None:
    fn = load_function("render", sleep=no_wait)
    answer = fn.lambda_handler(api_event(FOX), still_context())
    assert answer["statusCode"] == 429
    assert header(answer, "Retry-After") == str(NO_CAPACITY_RETRY_AFTER_SECONDS)
    assert response_json(answer) == {"error": NoCapacity.default_message}
    assert header(answer, "x-remaining-credits") is None
    assert credits(keys) == CLIENT_CREDITS
    assert s3.list_objects_v2(Bucket=aws["bucket"]).get("KeyCount") == 0
    # One call, naming the component, and no retry: a copy takes minutes, not seconds.
    assert [(call.component, call.status) for call in endpoint.invocations] == [(COMPONENT, 400)]
    assert endpoint.no_capacity_failures == 1


def test_v1_renders_once_a_copy_is_up(
    endpoint: SageMakerEndpoint, aws: dict[str, Any], keys: KeyStore
) -> None:
    fn = load_function("render", sleep=no_wait)
    assert fn.lambda_handler(api_event(FOX), still_context())["statusCode"] == 429
    endpoint.scale_to(1)
    answer = fn.lambda_handler(api_event(FOX), still_context())
    assert answer["statusCode"] == 200, response_body(answer)
    assert header(answer, "x-cache") == "MISS"
    assert response_body(answer) == render_jpeg(FOX["prompt"], FOX["seed"], 4)
    assert credits(keys) == CLIENT_CREDITS - 1


def test_a_job_waits_for_a_copy_without_using_up_its_deliveries_then_completes(
    endpoint: SageMakerEndpoint,
    aws: dict[str, Any],
    keys: KeyStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(worker, "CAPACITY_POLL_SECONDS", 0)  # the test does not wait
    jobs = Jobs(aws)
    request_id = jobs.submitted(FOX)
    for look in range(1, LOOKS + 1):
        assert jobs.queue.poll_once() == 1
        assert endpoint.no_capacity_failures == look
        shown = response_json(jobs.status(request_id))
        # Back in the queue, saying why: a client can tell it from a job that renders.
        assert (shown["status"], shown["waiting_for"]) == ("QUEUED", "gpu"), shown
        assert "started_at" not in shown
        assert jobs.waiting() == 1  # one reminder, not one per look
    assert jobs.waiting("job_dead_letter_queue_url") == 0
    assert credits(keys) == CLIENT_CREDITS - 1  # held since submit, not spent
    endpoint.scale_to(1)
    assert jobs.work() == 1
    result = response_json(jobs.result(request_id))
    assert (result["status"], result["cache"]) == ("COMPLETED", "MISS")
    assert "waiting_for" not in result
    assert credits(keys) == CLIENT_CREDITS - 1
    assert jobs.waiting() == 0


def test_a_job_that_waits_past_its_bound_is_given_up_and_refunded(
    endpoint: SageMakerEndpoint,
    aws: dict[str, Any],
    keys: KeyStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(worker, "CAPACITY_POLL_SECONDS", 0)
    jobs = Jobs(aws)
    request_id = jobs.submitted(FOX)
    assert jobs.queue.poll_once() == 1
    # JobTimeoutSeconds have passed since submit, and still no copy.
    boto3.client("dynamodb").update_item(
        TableName=aws["jobs_table"],
        Key={"request_id": {"S": request_id}},
        UpdateExpression="SET give_up_at = :past",
        ExpressionAttributeValues={":past": {"N": "1"}},
    )
    assert jobs.work() == 1
    answer = jobs.status(request_id)
    assert answer["statusCode"] == 422
    assert response_json(answer)["status"] == "FAILED"
    assert credits(keys) == CLIENT_CREDITS
    assert jobs.waiting() == 0


def test_a_job_keeps_its_message_when_the_reminder_cannot_be_sent(
    endpoint: SageMakerEndpoint, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = Jobs(aws)
    request_id = jobs.submitted(FOX)
    queue = jobs.worker.wiring.job_queue
    handed_back: list[tuple[str, int]] = []
    monkeypatch.setattr(queue, "retry_in", lambda *args: handed_back.append(args))

    def refuse(*_: Any, **__: Any) -> None:
        raise InternalError("The job queue is unavailable")

    monkeypatch.setattr(queue, "send", refuse)
    assert jobs.queue.poll_once() == 1
    ((_, seconds),) = handed_back
    assert seconds == worker.CAPACITY_POLL_SECONDS
    assert jobs.waiting() == 1  # the delivery itself, kept
    assert response_json(jobs.status(request_id))["status"] == "QUEUED"
