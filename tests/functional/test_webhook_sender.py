"""Completion events end to end in process: the v2 functions and the webhook sender, as the
template wires them, with moto's queues stepped by the test and a real receiver on loopback.

The attempts go over real HTTP (and TLS, with a test CA) to :class:`WebhookReceiver`; the
signatures are checked with the ``standardwebhooks`` package, not with our own code.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import responses
import trustme
from standardwebhooks.webhooks import Webhook

from devkit.events import response_json
from devkit.raw_receiver import CLOSE, STALL, RawReceiver, Then
from devkit.webhook_receiver import HANG, WebhookReceiver
from tests.helpers.functions import Jobs
from vegart.jobs.record import WEBHOOK_DELIVERED, WEBHOOK_EXHAUSTED, WEBHOOK_GONE, WEBHOOK_RETRYING
from vegart.webhooks.sender import ATTEMPT_TIMEOUT_SECONDS, WebhookSender
from vegart.webhooks.targets import TargetPolicy

PROMPT = {"prompt": "a lighthouse at dusk", "seed": 11}


@pytest.fixture
def jobs(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, segmind: Any) -> Jobs:
    """The v2 functions as a local stack runs them: webhooks may target loopback."""
    monkeypatch.setenv("WEBHOOK_ALLOW_LOOPBACK", "true")
    return Jobs(aws)


def quick(jobs: Jobs, **options: Any) -> WebhookSender:
    """The function's sender with retries due at once and a short cut: a test steps the queue
    itself, and waits for no schedule."""
    wiring = jobs.sender.wiring
    settings: dict[str, Any] = {"schedule": (0, 0, 0), "timeout": 1.0, **options}
    sender = WebhookSender(
        wiring.job_store,
        wiring.deliveries,
        wiring.webhook_secrets,
        wiring.outputs,
        targets=settings.pop("targets", wiring.webhook_targets),
        queue=wiring.webhook_queue,
        url_seconds=60,
        **settings,
    )
    wiring.webhook_sender = sender
    return sender


def secret_of(jobs: Jobs) -> str:
    answer = jobs.read("/v2/webhooks/default/secret", "/v2/webhooks/default/secret")
    assert answer["statusCode"] == 200
    assert answer["multiValueHeaders"]["Cache-Control"] == ["no-store"]
    secret: str = response_json(answer)["key"]
    return secret


def finished(jobs: Jobs, url: str, body: dict[str, Any] = PROMPT) -> str:
    request_id = jobs.submitted({**body, "webhook": url})
    jobs.work()
    return request_id


def result(jobs: Jobs, request_id: str) -> dict[str, Any]:
    document: dict[str, Any] = response_json(jobs.result(request_id))
    return document


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver.running() as running:
        yield running


def test_a_completed_job_posts_its_result_signed_and_the_reference_verifier_accepts_it(
    jobs: Jobs, receiver: WebhookReceiver
) -> None:
    request_id = finished(jobs, receiver.url)
    assert jobs.deliver() == 1
    (event,) = receiver.wait_for(1)
    payload = Webhook(secret_of(jobs)).verify(event.body, event.headers)
    assert event.path == "/hooks/vegart"
    assert event.headers["content-type"] == "application/json"
    assert event.headers["webhook-id"].startswith("msg_")
    assert payload["request_id"] == request_id
    assert payload["status"] == "COMPLETED"
    assert payload["output"].startswith("https://")
    assert "webhook_attempts" not in payload  # the event is the result, not its own history
    shown = result(jobs, request_id)
    signed_apart = ("output", "output_expires_at")  # signed afresh for each answer
    assert {k: v for k, v in shown.items() if k in payload and k not in signed_apart} == {
        k: v for k, v in payload.items() if k not in signed_apart
    }
    assert shown["webhook"] == receiver.url
    assert shown["webhook_status"] == WEBHOOK_DELIVERED
    (attempt,) = shown["webhook_attempts"]
    assert (attempt["status"], attempt["error"]) == (204, None)
    assert jobs.waiting("webhook_queue_url") == 0


def test_a_failed_job_posts_its_failure(
    jobs: Jobs, receiver: WebhookReceiver, segmind: responses.RequestsMock
) -> None:
    segmind.replace(responses.POST, "https://api.segmind.test/v1/segmind-vega-rt-v1", status=400)
    request_id = finished(jobs, receiver.url)
    jobs.deliver()
    (event,) = receiver.wait_for(1)
    payload = Webhook(secret_of(jobs)).verify(event.body, event.headers)
    assert payload["request_id"] == request_id
    assert payload["status"] == "FAILED"
    assert payload["error"]
    assert "output" not in payload


def test_a_cached_job_completes_at_submit_and_still_gets_its_event(
    jobs: Jobs, receiver: WebhookReceiver
) -> None:
    finished(jobs, receiver.url)
    jobs.deliver()
    again = jobs.submitted({**PROMPT, "webhook": receiver.url})
    assert result(jobs, again)["cache"] == "HIT"
    jobs.deliver()
    second = receiver.wait_for(2)[1]
    assert json.loads(second.body)["request_id"] == again


def test_two_failures_then_success_are_three_attempts_of_one_event(jobs: Jobs) -> None:
    with WebhookReceiver.running([500, 503, 204]) as receiver:
        quick(jobs)
        request_id = finished(jobs, receiver.url)
        assert jobs.deliver() == 3
        events = receiver.wait_for(3)
    assert len({event.headers["webhook-id"] for event in events}) == 1
    for event in events:  # each attempt signed anew, and each verifies
        Webhook(secret_of(jobs)).verify(event.body, event.headers)
    shown = result(jobs, request_id)
    assert [a["status"] for a in shown["webhook_attempts"]] == [500, 503, 204]
    assert shown["webhook_status"] == WEBHOOK_DELIVERED


def test_gone_stops_the_retries_at_once(jobs: Jobs) -> None:
    with WebhookReceiver.running([410, 204]) as receiver:
        quick(jobs)
        request_id = finished(jobs, receiver.url)
        assert jobs.deliver() == 1
        assert len(receiver.wait_for(1)) == 1
    assert result(jobs, request_id)["webhook_status"] == WEBHOOK_GONE
    assert jobs.waiting("webhook_queue_url") == 0


def test_a_hanging_receiver_is_cut_at_the_timeout_and_tried_again(jobs: Jobs) -> None:
    with WebhookReceiver.running([HANG, 204]) as receiver:
        quick(jobs, timeout=0.5)
        request_id = finished(jobs, receiver.url)
        jobs.deliver()
        receiver.wait_for(2)
    first, second = result(jobs, request_id)["webhook_attempts"]
    assert (first["status"], first["error"]) == (None, "timeout")
    assert second["status"] == 204
    assert ATTEMPT_TIMEOUT_SECONDS == 10.0  # what a deployment's sender cuts at


@pytest.mark.parametrize(
    ("answer", "then", "error"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789", STALL, "timeout"),
        (b"HTTP/1.1 200 OK\r\nX-Slow: 1\r\n", STALL, "timeout"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789", CLOSE, "incomplete answer"),
    ],
    ids=["stalls in the body", "stalls in the headers", "hangs up in the body"],
)
def test_a_200_that_is_not_whole_is_not_delivered_and_is_tried_again(
    jobs: Jobs, answer: bytes, then: Then, error: str
) -> None:
    with RawReceiver.running(answer, then) as receiver:
        quick(jobs, schedule=(0,), timeout=0.5)
        request_id = finished(jobs, receiver.url)
        jobs.deliver()
        assert len(receiver.requests) == 2
    shown = result(jobs, request_id)
    assert [(a["status"], a["error"]) for a in shown["webhook_attempts"]] == [(None, error)] * 2
    assert shown["webhook_status"] == WEBHOOK_EXHAUSTED


def test_every_attempt_failing_ends_exhausted_after_the_schedule(jobs: Jobs) -> None:
    with WebhookReceiver.running([500]) as receiver:
        quick(jobs, schedule=(0, 0))
        request_id = finished(jobs, receiver.url)
        jobs.deliver()
        assert len(receiver.wait_for(3)) == 3
    shown = result(jobs, request_id)
    assert shown["webhook_status"] == WEBHOOK_EXHAUSTED
    assert len(shown["webhook_attempts"]) == 3
    assert shown["status"] == "COMPLETED"  # the job itself is untouched by its receiver
    assert jobs.waiting("webhook_queue_url") == 0


def test_a_failed_attempt_asks_the_queue_for_the_message_back_on_schedule(jobs: Jobs) -> None:
    with WebhookReceiver.running([500]) as receiver:
        request_id = finished(jobs, receiver.url)  # the function's own sender and schedule
        assert jobs.deliver() == 1  # not visible again before its time
        receiver.wait_for(1)
    assert result(jobs, request_id)["webhook_status"] == WEBHOOK_RETRYING
    assert jobs.waiting("webhook_queue_url") == 1


def test_a_redirect_is_not_followed(jobs: Jobs) -> None:
    with WebhookReceiver.running([302, 204]) as receiver:
        quick(jobs)
        request_id = finished(jobs, receiver.url)
        jobs.deliver()
        events = receiver.wait_for(2)
    assert all(event.path == "/hooks/vegart" for event in events)
    statuses = [a["status"] for a in result(jobs, request_id)["webhook_attempts"]]
    assert statuses == [302, 204]


def test_a_receiver_that_is_down_never_fails_or_delays_the_job(jobs: Jobs) -> None:
    with WebhookReceiver.running() as receiver:
        url = receiver.url  # stopped below: nothing listens on its port any more
    quick(jobs, schedule=(0,))
    request_id = finished(jobs, url)
    assert response_json(jobs.status(request_id))["status"] == "COMPLETED"
    jobs.deliver()
    shown = result(jobs, request_id)
    assert shown["status"] == "COMPLETED"
    assert [a["error"] for a in shown["webhook_attempts"]] == ["connection failed"] * 2
    assert shown["webhook_status"] == WEBHOOK_EXHAUSTED


@pytest.mark.parametrize(
    ("webhook", "reason"),
    [
        ("https://169.254.169.254/latest/meta-data/", "public address"),
        ("https://10.0.0.1/hook", "public address"),
        ("http://93.184.216.34/hook", "https"),
        ("not a url", "printable ASCII"),
        ("ftp://example.com/hook", "https"),
        (17, "string"),
    ],
)
def test_a_webhook_the_gateway_may_not_call_is_refused_before_anything_is_queued_or_charged(
    jobs: Jobs, aws: dict[str, Any], webhook: object, reason: str
) -> None:
    before = aws["keys"].get(aws["client_key_id"])
    answer = jobs.submit({**PROMPT, "webhook": webhook})
    assert answer["statusCode"] == 400
    error = response_json(answer)["error"]
    assert error.startswith("webhook ")
    assert reason in error
    assert jobs.waiting() == 0
    assert aws["keys"].get(aws["client_key_id"]) == before


def test_a_null_webhook_is_no_webhook(jobs: Jobs) -> None:
    request_id = jobs.submitted({**PROMPT, "webhook": None})
    jobs.work()
    assert "webhook" not in result(jobs, request_id)
    assert jobs.waiting("webhook_queue_url") == 0


def test_an_event_the_queue_refused_is_queued_by_the_job_messages_next_delivery(
    jobs: Jobs, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    wiring = jobs.worker.wiring
    queue, deliveries = wiring.job_queue, wiring.webhook_queue
    handed_back: list[tuple[str, int]] = []
    retry_in = queue.retry_in
    monkeypatch.setattr(queue, "retry_in", lambda *args: handed_back.append(args))
    url = deliveries.url
    monkeypatch.setattr(deliveries, "url", url + "-unreachable")  # SQS refuses the send
    request_id = jobs.submitted({**PROMPT, "webhook": receiver.url})
    assert jobs.queue.poll_once() == 1
    job = wiring.job_store.get(request_id)
    assert job is not None
    assert (job.status, job.webhook_state) == ("COMPLETED", "pending")
    assert jobs.waiting() == 1  # the job's message was handed back, not acknowledged
    monkeypatch.setattr(deliveries, "url", url)
    ((receipt, _),) = handed_back
    retry_in(receipt, 0)  # its next delivery, which the test does not wait for
    assert jobs.work() == 1
    assert jobs.deliver() == 1
    (event,) = receiver.wait_for(1)
    assert Webhook(secret_of(jobs)).verify(event.body, event.headers)["request_id"] == request_id
    assert jobs.waiting() == 0


@pytest.fixture
def authority() -> trustme.CA:
    return trustme.CA()


def tls_receiver(authority: trustme.CA, name: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert(name).configure_cert(context)
    return context


def pinned(host: str) -> TargetPolicy:
    """A DNS that answers loopback for ``host``, where loopback is allowed."""

    def resolve(name: str, port: int) -> Sequence[str]:
        return ["127.0.0.1"] if name == host else []

    return TargetPolicy(resolve, allow_loopback=True)


def test_https_goes_to_the_checked_address_with_the_hosts_name_for_tls(
    jobs: Jobs, authority: trustme.CA
) -> None:
    client = ssl.create_default_context()
    authority.configure_trust(client)
    with WebhookReceiver.running(tls=tls_receiver(authority, "hooks.example.test")) as receiver:
        quick(jobs, targets=pinned("hooks.example.test"), tls=client)
        jobs.fn.wiring.submissions.targets = pinned("hooks.example.test")
        url = f"https://hooks.example.test:{receiver.port}/hooks/vegart"
        request_id = jobs.submitted({**PROMPT, "webhook": url})
        jobs.work()
        jobs.deliver()
        (event,) = receiver.wait_for(1)
    assert event.headers["host"] == f"hooks.example.test:{receiver.port}"
    assert result(jobs, request_id)["webhook_status"] == WEBHOOK_DELIVERED


def test_a_certificate_for_another_name_is_refused(jobs: Jobs, authority: trustme.CA) -> None:
    client = ssl.create_default_context()
    authority.configure_trust(client)
    with WebhookReceiver.running(tls=tls_receiver(authority, "other.example.test")) as receiver:
        quick(jobs, targets=pinned("hooks.example.test"), tls=client, schedule=())
        jobs.fn.wiring.submissions.targets = pinned("hooks.example.test")
        url = f"https://hooks.example.test:{receiver.port}/hooks/vegart"
        request_id = jobs.submitted({**PROMPT, "webhook": url})
        jobs.work()
        jobs.deliver()
    (attempt,) = result(jobs, request_id)["webhook_attempts"]
    assert attempt["error"] == "tls failed"
