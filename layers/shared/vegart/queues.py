"""The SQS queues of v2 (jobs, and webhook deliveries): what goes in, and how it comes out.

A message carries only a job's id: the job's record is the truth (its inputs, its status, its
credit, its event), and a message is a reminder that the job wants something done. A reminder
delivered twice, late or for a job that moved on meanwhile is harmless, which is what SQS's
at-least-once delivery needs.

The consuming side is the same for every queue: each message of a batch on its own, the ones
that must come back reported as batch item failures, and a message that must come back
*soon* (not after the queue's whole visibility timeout) made visible again at the time it
asks for (:class:`RetryLater`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import BotoCoreError, ClientError

from vegart.errors import InternalError
from vegart.observability import logger, metrics

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

#: How soon a message handed back comes round again, unless it says otherwise.
RETRY_SOON_SECONDS = 5


class MessageQueue:
    """One queue, by its URL; ``purpose`` names it in logs and in the 500's message, and
    ``error_metric`` counts the sends it could not make."""

    def __init__(
        self, url: str, client: Callable[[], SQSClient], *, purpose: str, error_metric: str
    ) -> None:
        self.url = url
        self.purpose = purpose
        self.error_metric = error_metric
        self._client = client

    def send(self, request_id: str, *, delay_seconds: int = 0) -> None:
        """Remind the queue's consumer of a job, ``delay_seconds`` from now (at most SQS's
        900); :class:`InternalError` (500) if SQS cannot be reached."""
        try:
            self._client().send_message(
                QueueUrl=self.url,
                MessageBody=message_for(request_id),
                DelaySeconds=delay_seconds,
            )
        except (ClientError, BotoCoreError) as exc:
            logger.error(
                "Queue unavailable", extra={"queue": self.purpose, "error": type(exc).__name__}
            )
            metrics.add_metric(name=self.error_metric, unit="Count", value=1)
            raise InternalError(f"The {self.purpose} is unavailable; try again later") from None

    def retry_in(self, receipt_handle: str, seconds: int) -> None:
        """Make a received message visible again after ``seconds`` instead of the queue's full
        visibility timeout. Best effort: without it the message still comes back, later."""
        try:
            self._client().change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )
        except (ClientError, BotoCoreError) as exc:
            error = type(exc).__name__
            logger.warning("Could not shorten a message's wait", extra={"error": error})


def message_for(request_id: str) -> str:
    return json.dumps({"request_id": request_id})


def request_id_of(body: str) -> str | None:
    """The job a message is about; ``None`` for a body that is not one of ours."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    request_id = document.get("request_id") if isinstance(document, dict) else None
    return request_id if isinstance(request_id, str) else None


class RetryLater(Exception):
    """The message must come back in ``seconds``: what it asks for cannot be done yet."""

    def __init__(self, reason: str, seconds: int = RETRY_SOON_SECONDS) -> None:
        super().__init__(reason)
        self.seconds = seconds


@dataclass(frozen=True)
class Message:
    """A delivery of a queue, as its consumer needs it."""

    body: str
    receipt_handle: str
    #: When SQS accepted the message (Unix seconds).
    sent_at: float


def message_of(record: SQSRecord) -> Message:
    return Message(
        body=record.body,
        receipt_handle=record.receipt_handle,
        sent_at=int(record.attributes.sent_timestamp) / 1000,
    )


def answer_batch(
    event: dict[str, Any], context: Any, work: Callable[[Message, Any], str]
) -> dict[str, Any]:
    """An SQS batch as Lambda's event source mapping delivers it, each message on its own.

    The answer lists the messages that failed (``batchItemFailures``), so that only those come
    back, even when all of them failed (then the answer says so, rather than an error).
    """
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def record_handler(record: SQSRecord, lambda_context: Any) -> str:
        outcome = work(message_of(record), lambda_context)
        logger.info("Message handled", extra={"message_id": record.message_id, "outcome": outcome})
        return outcome

    answer = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(answer)
