"""The jobs table: the only writes that may change a job (:mod:`vegart.jobs.record`).

A job lives in the jobs table (partition key ``request_id``) from submit until DynamoDB's TTL
sweeps it, a day after it ended. Every change of status is one conditional write, so the
history of a job is a straight line whatever the queue delivers twice or a worker dies:

- submit writes ``QUEUED`` and holds the key's credit in the same transaction, so there is
  never a job without its credit nor a credit taken without its job;
- a worker claims the job (``QUEUED``, or ``PROCESSING`` whose worker's lease ran out) with a
  token of its own, and only the holder of that token may complete it;
- completing or failing writes the outcome and, when the credit must be given back (a failure,
  or an image that turned out to be cached already), refunds it in the same transaction:
  exactly one credit per rendered image, since only one writer can win each condition.

A job that cannot end (a poison message, a queue that never delivered) is failed by whoever
sees it past its ``give_up_at``: the worker, the dead-letter handler, or a status read.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from vegart.aws import cancellation_reasons, condition_failed
from vegart.credits import CreditLedger
from vegart.errors import InternalError
from vegart.jobs.record import (
    COMPLETED,
    CREDIT_HELD,
    CREDIT_RETURNED,
    CREDIT_SPENT,
    CREDIT_VOID,
    FAILED,
    PROCESSING,
    QUEUED,
    RECORD_RETENTION_SECONDS,
    WEBHOOK_PENDING,
    Job,
    dynamo_number,
)
from vegart.observability import logger, metrics

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

_STORE_DOWN = "The job store is unavailable; try again later"


class JobStore:
    """The jobs table, and the credit moves that go with a job's changes."""

    def __init__(
        self,
        table: str,
        client: Callable[[], DynamoDBClient],
        ledger: CreditLedger,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.table = table
        self.ledger = ledger
        self._client = client
        self._clock = clock

    # -- reads -----------------------------------------------------------------------------

    def get(self, request_id: str) -> Job | None:
        """The job, read consistently (a worker must see the submit that sent its message)."""
        try:
            answer = self._client().get_item(
                TableName=self.table,
                Key={"request_id": {"S": request_id}},
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise store_unavailable("read", exc) from None
        item = answer.get("Item")
        return None if item is None else Job.from_item(item)

    # -- submit ----------------------------------------------------------------------------

    def submit(self, job: Job) -> None:
        """Write a ``QUEUED`` job and take its credit, both or neither.

        A refused debit is the ledger's own answer (401, 403 or 406); the transaction's
        client token makes botocore's retry of a lost answer apply it once.
        """
        put: TransactWriteItemTypeDef = {
            "Put": {
                "TableName": self.table,
                "Item": job.to_item(),
                "ConditionExpression": "attribute_not_exists(request_id)",
            }
        }
        items = [put, self.ledger.debit_item(job.key_id)]
        reasons = self._transact(items, job.request_id, "submit")
        if reasons is None:
            return
        if reasons[1] == "ConditionalCheckFailed":
            raise self.ledger.refusal(job.key_id)
        raise store_unavailable("submit", None)

    def put_completed(self, job: Job) -> None:
        """Write a job that was done before it began: its image was already cached."""
        try:
            self._client().put_item(
                TableName=self.table,
                Item=job.to_item(),
                ConditionExpression="attribute_not_exists(request_id)",
            )
        except (ClientError, BotoCoreError) as exc:
            raise store_unavailable("submit", exc) from None

    # -- a worker's writes -----------------------------------------------------------------

    def claim(self, job: Job, lease_seconds: float) -> Job | None:
        """Take the job for this worker until ``lease_seconds`` from now; ``None`` if another
        worker holds it or it has ended."""
        now = self._clock()
        token = uuid.uuid4().hex
        try:
            answer = self._client().update_item(
                TableName=self.table,
                Key={"request_id": {"S": job.request_id}},
                ReturnValues="ALL_NEW",
                UpdateExpression=(
                    "SET #status = :processing, lease_token = :token, lease_expires_at = :until,"
                    " started_at = if_not_exists(started_at, :now), updated_at = :now"
                    " ADD attempts :one REMOVE waiting_for"
                ),
                ConditionExpression=(
                    "#status = :queued OR (#status = :processing AND lease_expires_at < :now)"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":processing": {"S": PROCESSING},
                    ":queued": {"S": QUEUED},
                    ":token": {"S": token},
                    ":until": {"N": dynamo_number(now + lease_seconds)},
                    ":now": {"N": dynamo_number(now)},
                    ":one": {"N": "1"},
                },
            )
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise store_unavailable("claim", exc) from None
        except BotoCoreError as exc:
            raise store_unavailable("claim", exc) from None
        return Job.from_item(answer["Attributes"])

    def release(self, job: Job) -> None:
        """Give a claim back at once (the worker failed unexpectedly), so that the message's
        next delivery need not wait for the lease to run out. Best effort."""
        try:
            self._client().update_item(
                TableName=self.table,
                Key={"request_id": {"S": job.request_id}},
                UpdateExpression="SET lease_expires_at = :zero",
                ConditionExpression="#status = :processing AND lease_token = :token",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":zero": {"N": "0"},
                    ":processing": {"S": PROCESSING},
                    ":token": {"S": job.lease_token or ""},
                },
            )
        except (ClientError, BotoCoreError) as exc:
            logger.warning("Could not release a job", extra={"error": type(exc).__name__})

    def requeue(self, job: Job, waiting_for: str) -> bool:
        """Put a claimed job back in the queue, because what its render needs is not there
        yet (``waiting_for``: no GPU copy runs, one is starting). It reads ``QUEUED`` again,
        with the reason, until a worker takes it; it has not started. Whether this worker's
        claim was still the one; best effort (on failure the claim runs out by itself)."""
        try:
            self._client().update_item(
                TableName=self.table,
                Key={"request_id": {"S": job.request_id}},
                UpdateExpression=(
                    "SET #status = :queued, waiting_for = :why, updated_at = :now"
                    " REMOVE lease_token, lease_expires_at, started_at"
                ),
                ConditionExpression="#status = :processing AND lease_token = :token",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":queued": {"S": QUEUED},
                    ":why": {"S": waiting_for},
                    ":now": {"N": dynamo_number(self._clock())},
                    ":processing": {"S": PROCESSING},
                    ":token": {"S": job.lease_token or ""},
                },
            )
        except (ClientError, BotoCoreError) as exc:
            logger.warning("Could not requeue a job", extra={"error": type(exc).__name__})
            return False
        return True

    def complete(self, job: Job, *, cache_hit: bool) -> bool:
        """End a claimed job ``COMPLETED``; whether this worker's claim was still the one.

        A miss spends the held credit; a hit (the image was rendered meanwhile by a v1
        request or another job) gives it back.
        """
        now = self._clock()
        credit = CREDIT_RETURNED if cache_hit else CREDIT_SPENT
        return self._end(
            job,
            now,
            credit=credit,
            sets={":cache": {"S": "HIT" if cache_hit else "MISS"}},
            expression="cache = :cache",
            holder=True,
        )

    def fail(self, job: Job, error: str, status: int) -> bool:
        """End a claimed job ``FAILED`` with a message for a person, and give its credit back;
        whether this worker's claim was still the one."""
        return self._failed(job, error, status, holder=True)

    def give_up(self, job: Job, error: str, status: int) -> bool:
        """End ``FAILED``, refunded, a job that nobody holds (queued, or under a lease that ran
        out): for the dead-letter handler, and for a job seen past its ``give_up_at``.
        Whether this call ended it."""
        return self._failed(job, error, status, holder=False)

    def _failed(self, job: Job, error: str, status: int, *, holder: bool) -> bool:
        credit = CREDIT_RETURNED if job.credit == CREDIT_HELD else job.credit
        return self._end(
            job,
            self._clock(),
            credit=credit,
            sets={":error": {"S": error[:500]}, ":error_status": {"N": str(status)}},
            expression="#error = :error, error_status = :error_status",
            names={"#error": "error"},
            holder=holder,
        )

    def _end(
        self,
        job: Job,
        now: float,
        *,
        credit: str,
        sets: dict[str, Any],
        expression: str,
        holder: bool,
        names: dict[str, str] | None = None,
    ) -> bool:
        status = FAILED if ":error" in sets else COMPLETED
        values: dict[str, Any] = {
            ":status": {"S": status},
            ":now": {"N": dynamo_number(now)},
            ":expires": {"N": str(int(now + RECORD_RETENTION_SECONDS))},
            ":credit": {"S": credit},
            ":held": {"S": job.credit},
            **sets,
        }
        if holder:
            condition = "#status = :processing AND lease_token = :token"
            values[":processing"] = {"S": PROCESSING}
            values[":token"] = {"S": job.lease_token or ""}
        else:
            # Nobody's claim: queued, or processing under a lease that has run out.
            condition = "(#status = :queued OR (#status = :processing AND lease_expires_at < :now))"
            values[":queued"] = {"S": QUEUED}
            values[":processing"] = {"S": PROCESSING}
        if job.webhook is not None:
            # The completion event is owed from the moment the job ends, in the same write.
            expression += ", webhook_state = :webhook_pending"
            values[":webhook_pending"] = {"S": WEBHOOK_PENDING}
        update: TransactWriteItemTypeDef = {
            "Update": {
                "TableName": self.table,
                "Key": {"request_id": {"S": job.request_id}},
                "UpdateExpression": (
                    f"SET #status = :status, {expression}, credit = :credit,"
                    " completed_at = :now, updated_at = :now, expires_at = :expires"
                    " REMOVE lease_token, lease_expires_at"
                ),
                "ConditionExpression": f"{condition} AND credit = :held",
                "ExpressionAttributeNames": {"#status": "status", **(names or {})},
                "ExpressionAttributeValues": values,
            }
        }
        refund = job.credit == CREDIT_HELD and credit == CREDIT_RETURNED
        items = [update, self.ledger.refund_item(job.key_id)] if refund else [update]
        token = _token(job.request_id, status, job.lease_token, credit)
        reasons = self._transact(items, token, "end")
        if reasons is None:
            if refund:
                metrics.add_metric(name="CreditRefunds", unit="Count", value=1)
            return True
        if reasons[0] == "ConditionalCheckFailed":
            return False  # another writer ended it, or took it over: theirs is the outcome
        if refund and reasons[1] == "ConditionalCheckFailed":
            # The key was deleted meanwhile: end the job all the same, with nothing to refund.
            logger.warning("Job's key is gone; its credit cannot be given back")
            values[":credit"] = {"S": CREDIT_VOID}
            token = _token(job.request_id, status, job.lease_token, CREDIT_VOID)
            return self._transact([update], token, "end") is None
        raise store_unavailable("end", None)

    def _transact(
        self, items: Sequence[TransactWriteItemTypeDef], token: str, operation: str
    ) -> list[str] | None:
        """Apply ``items`` atomically: ``None`` when done, else each item's refusal code.

        ``token`` names the logical write: botocore retries a call whose answer was lost, and
        DynamoDB applies a token's transaction once (for ten minutes), so a retry that finds
        its own write done succeeds instead of reading as a lost race.
        """
        try:
            self._client().transact_write_items(TransactItems=list(items), ClientRequestToken=token)
        except ClientError as exc:
            reasons = cancellation_reasons(exc)
            if reasons:
                return reasons
            raise store_unavailable(operation, exc) from None
        except BotoCoreError as exc:
            raise store_unavailable(operation, exc) from None
        return None


def _token(*parts: object) -> str:
    """A client request token (at most 36 characters) for one logical write."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(map(str, parts))))


def store_unavailable(operation: str, error: Exception | None) -> InternalError:
    """The 500 of a store call that failed (or was refused for no reason of a job's), logged
    and counted."""
    logger.error(
        "Job store unavailable",
        extra={"operation": operation, "error": type(error).__name__ if error else "refused"},
    )
    metrics.add_metric(name="JobStoreErrors", unit="Count", value=1)
    return InternalError(_STORE_DOWN)
