"""The functions in process as the template wires them, for tests that run them in moto."""

from __future__ import annotations

from typing import Any

import boto3

from devkit.api_model import load
from devkit.clock import no_wait
from devkit.context import still_context
from devkit.deployment import UNREACHABLE_SEGMIND
from devkit.event_source import SqsEventSource
from devkit.events import api_event, response_body, response_json
from devkit.functions import load_function

#: Where the test deployment's functions find Segmind (``responses`` answers there).
URL = f"{UNREACHABLE_SEGMIND}/segmind-vega-rt-v1"
SUBMIT = "/v2/segmind-vega-rt-v1"
STATUS_RESOURCE = "/v2/requests/{request_id}/status"
RESULT_RESOURCE = "/v2/requests/{request_id}"


class Jobs:
    """The v2 functions in process, as the template wires them: the jobs function's routes, the
    job queue's worker and the dead-letter queue's handler, each queue stepped by the test."""

    def __init__(self, aws: dict[str, Any]) -> None:
        self.aws = aws
        self.fn = load_function("jobs", sleep=no_wait)
        self.worker = load_function("job_worker", sleep=no_wait)
        self.dead_letters = load_function("job_dead_letters", sleep=no_wait)
        self.sender = load_function("webhook_sender", sleep=no_wait)
        sources = {source.function: source for source in load({}).queue_sources}
        sqs = boto3.client("sqs")
        self.sqs = sqs
        self.queue = SqsEventSource(
            sources["JobWorkerFunction"],
            lambda event: self.worker.lambda_handler(event, self.worker_context()),
            sqs=sqs,
            queue_url=aws["job_queue_url"],
        )
        self.dead_letter_queue = SqsEventSource(
            sources["JobDeadLetterFunction"],
            lambda event: self.dead_letters.lambda_handler(event, still_context("dead", 30)),
            sqs=sqs,
            queue_url=aws["job_dead_letter_queue_url"],
        )
        self.webhooks = SqsEventSource(
            sources["WebhookSenderFunction"],
            lambda event: self.sender.lambda_handler(event, still_context("sender", 20)),
            sqs=sqs,
            queue_url=aws["webhook_queue_url"],
        )

    @staticmethod
    def worker_context() -> Any:
        return still_context("JobWorkerFunction", 120)

    def submit(self, body: Any = None, **options: Any) -> dict[str, Any]:
        event = api_event(body, path=SUBMIT, **options)
        return self.fn.lambda_handler(event, still_context("JobsFunction", 10))

    def read(self, path: str, resource: str, method: str = "GET", **options: Any) -> dict:
        event = api_event(None, method=method, path=path, resource=resource, **options)
        return self.fn.lambda_handler(event, still_context("JobsFunction", 10))

    def status(self, request_id: str, **options: Any) -> dict[str, Any]:
        return self.read(f"/v2/requests/{request_id}/status", STATUS_RESOURCE, **options)

    def result(self, request_id: str, **options: Any) -> dict[str, Any]:
        return self.read(f"/v2/requests/{request_id}", RESULT_RESOURCE, **options)

    def work(self) -> int:
        """Deliver the job queue's visible messages until none is left; how many."""
        delivered = 0
        while count := self.queue.poll_once():
            delivered += count
        return delivered

    def deliver(self) -> int:
        """Deliver the webhook queue's visible messages until none is left; how many."""
        delivered = 0
        while count := self.webhooks.poll_once():
            delivered += count
        return delivered

    def waiting(self, queue: str = "job_queue_url") -> int:
        """Messages in a queue (the job queue unless told), visible or not."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.aws[queue],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(value) for value in attributes.values())

    def submitted(self, body: Any = None, **options: Any) -> str:
        """Submit, expect a 200, and return the request id."""
        answer = self.submit(body or {"prompt": "a fox in the snow", "seed": 7}, **options)
        assert answer["statusCode"] == 200, response_body(answer)
        request_id: str = response_json(answer)["request_id"]
        return request_id


class Broken:
    """A render service with a bug in it: whatever it is asked, an unexpected exception."""

    def __init__(self, detail: str) -> None:
        self.detail = detail

    def image_for(self, *_: Any) -> Any:
        raise RuntimeError(self.detail)
