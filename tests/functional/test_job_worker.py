"""The job worker and the dead-letter handler, fed by moto's SQS as the event source mapping
feeds them: each delivery renders at most once, charges at most once, and every job ends."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import boto3
import pytest
import responses

from devkit.context import still_context
from devkit.event_source import sqs_record
from devkit.events import api_event, response_json
from mock_server import render_jpeg
from tests.helpers.deployment import CLIENT_CREDITS, credits
from tests.helpers.functions import URL, Jobs
from vegart.credits import CreditLedger
from vegart.jobs import worker
from vegart.jobs.record import new_request_id
from vegart.jobs.store import JobStore
from vegart.keys import KeyStore
from vegart.queues import Message, RetryLater

FOX = {"prompt": "a fox in the snow", "seed": 7}


def renders(segmind: responses.RequestsMock) -> int:
    return sum(1 for call in segmind.calls if call.request.url == URL)


def status_of(jobs: Jobs, request_id: str) -> dict[str, Any]:
    body: dict[str, Any] = response_json(jobs.status(request_id))
    return body


def resend(jobs: Jobs, request_id: str) -> None:
    """Another copy of a job's message: SQS delivers at least once."""
    jobs.sqs.send_message(
        QueueUrl=jobs.aws["job_queue_url"], MessageBody=json.dumps({"request_id": request_id})
    )


def show_every_message_now(jobs: Jobs) -> None:
    """The queue's visibility timeout at zero: whatever a delivery hands back is visible again."""
    jobs.sqs.set_queue_attributes(
        QueueUrl=jobs.aws["job_queue_url"], Attributes={"VisibilityTimeout": "0"}
    )


def test_a_job_renders_once_and_spends_one_credit(
    jobs: Jobs, segmind: responses.RequestsMock, keys: KeyStore
) -> None:
    request_id = jobs.submitted(FOX)
    assert status_of(jobs, request_id)["status"] == "QUEUED"
    assert jobs.work() == 1
    assert status_of(jobs, request_id)["status"] == "COMPLETED"
    assert renders(segmind) == 1
    assert credits(keys) == CLIENT_CREDITS - 1
    assert jobs.waiting() == 0


def test_a_duplicate_delivery_changes_nothing(
    jobs: Jobs, segmind: responses.RequestsMock, keys: KeyStore
) -> None:
    request_id = jobs.submitted(FOX)
    jobs.work()
    resend(jobs, request_id)
    assert jobs.work() == 1
    assert renders(segmind) == 1
    assert credits(keys) == CLIENT_CREDITS - 1
    assert jobs.waiting() == 0  # acknowledged, not handed back


def test_two_deliveries_at_once_render_once(
    jobs: Jobs, keys: KeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    request_id = jobs.submitted(FOX)
    resend(jobs, request_id)
    rendering, finish = threading.Event(), threading.Event()
    queue = jobs.worker.wiring.job_queue
    handed_back: list[tuple[str, int]] = []
    retry_in = queue.retry_in
    monkeypatch.setattr(queue, "retry_in", lambda *args: handed_back.append(args))

    def slow(request: Any) -> tuple[int, dict[str, str], bytes]:
        rendering.set()
        assert finish.wait(60)
        body = json.loads(request.body)
        return 200, {}, render_jpeg(body["prompt"], body["seed"], body["num_inference_steps"])

    with responses.RequestsMock() as segmind:
        segmind.add_callback(responses.POST, URL, callback=slow)
        first = threading.Thread(target=jobs.queue.poll_once)
        first.start()
        assert rendering.wait(60)
        assert jobs.queue.poll_once() == 1  # the copy: the job is held, so it is handed back
        assert jobs.waiting() == 2
        finish.set()
        first.join()
        # The copy comes back once the holder's lease could have run out (had it crashed).
        ((receipt, seconds),) = handed_back
        assert seconds > 60
        retry_in(receipt, 0)  # ... which the test does not wait for
        assert jobs.work() == 1
        assert len(segmind.calls) == 1
    assert status_of(jobs, request_id)["status"] == "COMPLETED"
    assert credits(keys) == CLIENT_CREDITS - 1
    assert jobs.waiting() == 0


def test_a_backend_refusal_fails_the_job_with_its_message_and_gives_the_credit_back(
    jobs: Jobs, keys: KeyStore
) -> None:
    with responses.RequestsMock() as segmind:
        segmind.add(responses.POST, URL, status=400, json={"error": "prompt is not allowed"})
        request_id = jobs.submitted(FOX)
        jobs.work()
    answer = jobs.status(request_id)
    assert answer["statusCode"] == 422
    assert response_json(answer) | {"created_at": "", "updated_at": "", "completed_at": ""} == {
        "request_id": request_id,
        "status": "FAILED",
        "error": "prompt is not allowed",
        "created_at": "",
        "updated_at": "",
        "started_at": response_json(answer)["started_at"],
        "completed_at": "",
    }
    assert jobs.result(request_id)["statusCode"] == 422
    assert credits(keys) == CLIENT_CREDITS
    assert jobs.waiting() == 0


def test_a_backend_that_stays_down_fails_the_job_after_v1s_retries(
    jobs: Jobs, keys: KeyStore
) -> None:
    with responses.RequestsMock() as segmind:
        segmind.add(responses.POST, URL, status=502, json={"error": "upstream down"})
        request_id = jobs.submitted(FOX)
        jobs.work()
        assert len(segmind.calls) == 4  # the retry policy's attempts, as for v1
    body = status_of(jobs, request_id)
    assert body["status"] == "FAILED"
    assert body["error"] == "The render backend failed; please try again"
    assert credits(keys) == CLIENT_CREDITS


def test_an_unexpected_error_hands_the_message_back_and_frees_the_job(
    jobs: Jobs, segmind: responses.RequestsMock, keys: KeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    request_id = jobs.submitted(FOX)
    service = jobs.worker.wiring.job_render_service
    render = service.render
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("a bug in the worker")
        return render(*args, **kwargs)

    monkeypatch.setattr(service, "render", flaky)
    show_every_message_now(jobs)
    assert jobs.queue.poll_once() == 1
    assert status_of(jobs, request_id)["status"] == "PROCESSING"  # released, not ended
    jobs.work()  # the next delivery claims it at once: the claim was given back
    assert status_of(jobs, request_id)["status"] == "COMPLETED"
    assert credits(keys) == CLIENT_CREDITS - 1


def test_a_message_whose_every_delivery_fails_ends_failed_through_the_dead_letter_queue(
    jobs: Jobs, keys: KeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    request_id = jobs.submitted(FOX)
    service = jobs.worker.wiring.job_render_service

    def poison(*_: Any, **__: Any) -> Any:
        raise RuntimeError("this message always breaks the worker")

    monkeypatch.setattr(service, "render", poison)
    show_every_message_now(jobs)
    assert jobs.work() == 5  # the template's maxReceiveCount; then SQS moves it aside
    assert status_of(jobs, request_id)["status"] == "PROCESSING"
    assert jobs.dead_letter_queue.poll_once() == 1
    body = status_of(jobs, request_id)
    assert body["status"] == "FAILED"
    assert body["error"] == "The render could not be completed; please submit it again"
    assert credits(keys) == CLIENT_CREDITS


def test_a_dead_letter_whose_job_a_dead_worker_holds_comes_back_when_its_lease_ends(
    jobs: Jobs, keys: KeyStore
) -> None:
    request_id = jobs.submitted(FOX)
    now = float(int(time.time()))  # whole seconds: the lease ends on a second
    dynamodb = boto3.client("dynamodb")
    ledger = CreditLedger(jobs.aws["keys_table"], lambda: dynamodb)
    store = JobStore(jobs.aws["jobs_table"], lambda: dynamodb, ledger, clock=lambda: now)
    queued = store.get(request_id)
    assert queued is not None
    assert store.claim(queued, 40) is not None  # by a worker that died holding it
    asked: list[tuple[str, int]] = []

    class Queue:
        def retry_in(self, receipt_handle: str, seconds: int) -> None:
            asked.append((receipt_handle, seconds))

    outbox = jobs.dead_letters.wiring.webhook_outbox
    dead_letters = worker.DeadLetters(store, outbox, Queue(), clock=lambda: now)  # type: ignore[arg-type]
    message = Message(json.dumps({"request_id": request_id}), "receipt-1", now - 100)
    with pytest.raises(RetryLater):
        dead_letters.handle(message)
    assert asked == [("receipt-1", 41)]  # just after the lease, not the queue's 60 s
    assert status_of(jobs, request_id)["status"] == "PROCESSING"
    now += 41
    assert dead_letters.handle(message) == "failed"
    assert status_of(jobs, request_id)["status"] == "FAILED"
    assert credits(keys) == CLIENT_CREDITS


def test_the_dead_letter_handler_leaves_ended_jobs_alone(
    jobs: Jobs, segmind: responses.RequestsMock, keys: KeyStore
) -> None:
    request_id = jobs.submitted(FOX)
    jobs.work()
    jobs.sqs.send_message(
        QueueUrl=jobs.aws["job_dead_letter_queue_url"],
        MessageBody=json.dumps({"request_id": request_id}),
    )
    assert jobs.dead_letter_queue.poll_once() == 1
    assert status_of(jobs, request_id)["status"] == "COMPLETED"
    assert credits(keys) == CLIENT_CREDITS - 1


def test_a_job_rendered_meanwhile_by_v1_completes_as_a_hit_and_free(
    jobs: Jobs, fn: Any, segmind: responses.RequestsMock, keys: KeyStore, context: Any
) -> None:
    request_id = jobs.submitted(FOX)
    assert fn.lambda_handler(api_event(FOX), context)["statusCode"] == 200
    before = credits(keys)
    jobs.work()
    result = response_json(jobs.result(request_id))
    assert (result["status"], result["cache"]) == ("COMPLETED", "HIT")
    assert credits(keys) == before + 1  # the job's held credit, given back
    assert renders(segmind) == 1


def test_a_job_past_its_time_is_failed_unrendered(
    jobs: Jobs, segmind: responses.RequestsMock, keys: KeyStore, aws: dict[str, Any]
) -> None:
    request_id = jobs.submitted(FOX)
    boto3.client("dynamodb").update_item(
        TableName=aws["jobs_table"],
        Key={"request_id": {"S": request_id}},
        UpdateExpression="SET give_up_at = :past",
        ExpressionAttributeValues={":past": {"N": "1"}},
    )
    jobs.work()
    body = status_of(jobs, request_id)
    assert body["status"] == "FAILED"
    assert renders(segmind) == 0
    assert credits(keys) == CLIENT_CREDITS


def test_a_message_for_a_job_not_written_yet_comes_back_soon(jobs: Jobs) -> None:
    jobs.sqs.send_message(
        QueueUrl=jobs.aws["job_queue_url"],
        MessageBody=json.dumps({"request_id": new_request_id()}),
    )
    assert jobs.queue.poll_once() == 1
    assert jobs.waiting() == 1  # handed back, to be looked at again


def test_a_message_whose_job_was_never_written_is_dropped(
    jobs: Jobs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "ORPHAN_GRACE_SECONDS", 0)
    jobs.sqs.send_message(
        QueueUrl=jobs.aws["job_queue_url"],
        MessageBody=json.dumps({"request_id": new_request_id()}),
    )
    assert jobs.work() == 1
    assert jobs.waiting() == 0


@pytest.mark.parametrize("body", ["", "not json", "[]", '{"request_id": 7}', '{"x": 1}'])
def test_a_message_that_names_no_job_is_dropped(jobs: Jobs, body: str) -> None:
    jobs.sqs.send_message(QueueUrl=jobs.aws["job_queue_url"], MessageBody=body or " ")
    assert jobs.work() == 1
    assert jobs.waiting() == 0


def test_only_the_failed_messages_of_a_batch_are_reported(
    jobs: Jobs, segmind: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = jobs.submitted(FOX)
    bad = jobs.submitted({"prompt": "a fox that breaks things", "seed": 8})
    service = jobs.worker.wiring.job_render_service
    render = service.render

    def breaks_on_bad(spec: Any, *args: Any, **kwargs: Any) -> Any:
        if "breaks" in spec.prompt:
            raise RuntimeError("a bug")
        return render(spec, *args, **kwargs)

    monkeypatch.setattr(service, "render", breaks_on_bad)
    messages = jobs.sqs.receive_message(
        QueueUrl=jobs.aws["job_queue_url"],
        MaxNumberOfMessages=10,
        MessageSystemAttributeNames=["All"],
    )["Messages"]
    assert len(messages) == 2
    records = [sqs_record(message, "arn:aws:sqs:us-east-1:123456789012:q") for message in messages]
    records.append({**records[0], "messageId": "not-ours", "body": "garbage"})
    answer = jobs.worker.lambda_handler({"Records": records}, still_context("worker", 120))
    by_job = {json.loads(m["Body"])["request_id"]: m["MessageId"] for m in messages}
    assert answer == {"batchItemFailures": [{"itemIdentifier": by_job[bad]}]}
    assert status_of(jobs, good)["status"] == "COMPLETED"
