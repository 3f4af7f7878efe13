"""Lambda's SQS event source mapping, run against a real SQS API (moto's) outside AWS.

What Lambda does for an ``SQS`` event of the template, and what the job worker relies on:

- it long-polls the queue and hands the function batches of up to ``BatchSize`` messages,
  with at most ``MaximumConcurrency`` invocations at once;
- a message stays invisible for the queue's visibility timeout while its invocation runs;
- with ``ReportBatchItemFailures``, the messages the answer lists come back and the others are
  deleted; an invocation that raises, or whose instance is killed (its timeout, a crash),
  deletes nothing;
- SQS itself counts receives and moves a message to the dead-letter queue after the redrive
  policy's ``maxReceiveCount``: that part is moto's, as it is SQS's on AWS.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .api_model import QueueSource
from .context import REGION

log = logging.getLogger("devkit.event_source")

#: An invocation: the event to the function's answer, raising if it failed or was killed
#: (:meth:`devkit.lambda_instances.LambdaInstances.invoke`, or a handler called in-process).
Invoke = Callable[[dict[str, Any]], Any]


def sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """One record of an SQS event, from a ``ReceiveMessage`` answer's message."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


class SqsEventSource:
    """Polls one queue and invokes one function with its batches, until :meth:`stop`."""

    def __init__(
        self,
        source: QueueSource,
        invoke: Invoke,
        *,
        sqs: Any,
        queue_url: str,
        wait_seconds: int = 1,
    ) -> None:
        self.source, self._invoke = source, invoke
        self.sqs, self.queue_url = sqs, queue_url
        self.queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self._wait_seconds = wait_seconds
        self._stopping = threading.Event()
        self._slots = threading.Semaphore(source.maximum_concurrency)
        self._deliveries = ThreadPoolExecutor(
            max_workers=source.maximum_concurrency, thread_name_prefix=f"esm-{source.function}"
        )
        self._poller = threading.Thread(
            target=self._poll, name=f"poll-{source.function}", daemon=True
        )
        #: Batches delivered and batches that failed whole, for tests and benchmarks.
        self.invocations = 0
        self.failed_invocations = 0

    def start(self) -> SqsEventSource:
        self._poller.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._poller.is_alive():
            self._poller.join(timeout=self._wait_seconds + 5)
        self._deliveries.shutdown(wait=False, cancel_futures=True)

    def poll_once(self) -> int:
        """Receive one batch now and deliver it on this thread, without the poller: for tests
        that step the queue themselves. How many messages the batch held."""
        messages = self._receive(wait_seconds=0)
        if messages:
            self._slots.acquire()
            self._deliver(messages)
        return len(messages)

    def _poll(self) -> None:
        while not self._stopping.is_set():
            if not self._slots.acquire(timeout=0.5):
                continue
            try:
                messages = self._receive()
            except Exception as exc:  # the queue is gone (the stack stopping) or unreachable
                self._slots.release()
                if not self._stopping.wait(0.5):
                    log.warning("receiving from %s failed: %r", self.queue_url, exc)
                continue
            if not messages:
                self._slots.release()
                continue
            self._deliveries.submit(self._deliver, messages)

    def _receive(self, wait_seconds: int | None = None) -> list[dict[str, Any]]:
        answer = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(10, self.source.batch_size),
            WaitTimeSeconds=self._wait_seconds if wait_seconds is None else wait_seconds,
            MessageSystemAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = answer.get("Messages", [])
        return messages

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        try:
            self.invocations += 1
            event = {"Records": [sqs_record(message, self.queue_arn) for message in messages]}
            try:
                answer = self._invoke(event)
            except Exception as exc:
                self.failed_invocations += 1
                log.info("%s: the batch comes back (%s)", self.source.function, exc)
                return
            self._delete(messages, self._failed_ids(answer))
        finally:
            self._slots.release()

    def _failed_ids(self, answer: Any) -> set[str]:
        if not self.source.report_batch_item_failures or not isinstance(answer, dict):
            return set()
        return {
            str(failure.get("itemIdentifier"))
            for failure in answer.get("batchItemFailures") or []
            if isinstance(failure, dict)
        }

    def _delete(self, messages: list[dict[str, Any]], failed: set[str]) -> None:
        done = [
            {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
            for index, message in enumerate(messages)
            if message["MessageId"] not in failed
        ]
        if done:
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=done)
