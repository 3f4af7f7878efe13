"""Where a job's completion event stands, on the job's own record: queued for the sender, and
each attempt at delivering it, appended.

Apart from the store's writes (:mod:`vegart.jobs.store`), which move a job along: these never
change its status or its credit, only its event's bookkeeping, and a job that was swept
meanwhile is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from vegart.aws import condition_failed
from vegart.jobs.record import WEBHOOK_PENDING, WEBHOOK_QUEUED, WebhookAttempt
from vegart.jobs.store import store_unavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DeliveryRecords:
    """The jobs table, for the completion events of its jobs."""

    def __init__(self, table: str, client: Callable[[], DynamoDBClient]) -> None:
        self.table = table
        self._client = client

    def mark_queued(self, request_id: str) -> None:
        """Record that the event is with the sender now. Best effort: an event left
        ``pending`` is queued again by the next reader, and the sender drops duplicates."""
        self._update(
            request_id,
            "SET webhook_state = :queued",
            "webhook_state = :pending",
            {":queued": {"S": WEBHOOK_QUEUED}, ":pending": {"S": WEBHOOK_PENDING}},
        )

    def record_attempt(self, request_id: str, attempt: WebhookAttempt, state: str) -> None:
        """Append an attempt to the job's record and set where its event stands."""
        self._update(
            request_id,
            "SET webhook_state = :state,"
            " webhook_attempts = list_append(if_not_exists(webhook_attempts, :none), :attempt)",
            "attribute_exists(request_id)",
            {
                ":state": {"S": state},
                ":none": {"L": []},
                ":attempt": {"L": [attempt.to_value()]},
            },
        )

    def _update(
        self, request_id: str, expression: str, condition: str, values: dict[str, Any]
    ) -> None:
        try:
            self._client().update_item(
                TableName=self.table,
                Key={"request_id": {"S": request_id}},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise store_unavailable("webhook", exc) from None
        except BotoCoreError as exc:
            raise store_unavailable("webhook", exc) from None
