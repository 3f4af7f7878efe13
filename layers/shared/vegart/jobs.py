"""Asynchronous render jobs: the record of each one, and the only writes that may change it.

A job lives in the jobs table (partition key ``request_id``) from submit until DynamoDB's TTL
sweeps it, a day after it ended. Every change of status is one conditional write, so the
history of a job is a straight line whatever the queue delivers twice or a worker dies:

``QUEUED`` -> ``PROCESSING`` -> ``COMPLETED`` | ``FAILED``

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

import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from .aws import cancellation_reasons, condition_failed
from .cache_key import RenderSpec
from .credits import CreditLedger
from .errors import InternalError
from .observability import logger, metrics

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

QUEUED = "QUEUED"
PROCESSING = "PROCESSING"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
#: Why a job that a worker had taken is ``QUEUED`` again: the GPU endpoint had no copy running,
#: and one is starting (the status document says so, in ``waiting_for``).
WAITING_FOR_GPU = "gpu"
TERMINAL = frozenset({COMPLETED, FAILED})

#: What became of the credit a job held at submit.
CREDIT_HELD = "held"  # taken at submit, the job still running
CREDIT_SPENT = "spent"  # the job rendered its image
CREDIT_RETURNED = "returned"  # given back: the job failed, or its image was already cached
CREDIT_NONE = "none"  # nothing was taken: the image was cached at submit
CREDIT_VOID = "void"  # to be given back, but the key was deleted meanwhile

#: Where a job's completion event stands (for a job that named a webhook).
WEBHOOK_PENDING = "pending"  # the job ended; its event is not queued for the sender yet
WEBHOOK_QUEUED = "queued"  # queued for the sender, not attempted yet
WEBHOOK_RETRYING = "retrying"  # attempted and not delivered; another attempt will come
WEBHOOK_DELIVERED = "delivered"  # a 2xx answer
WEBHOOK_GONE = "gone"  # the receiver answered 410: no more attempts
WEBHOOK_EXHAUSTED = "exhausted"  # every attempt of the schedule failed
WEBHOOK_FINAL = frozenset({WEBHOOK_DELIVERED, WEBHOOK_GONE, WEBHOOK_EXHAUSTED})

#: Records are kept this long after a job ends (the contract promises at least an hour).
RECORD_RETENTION_SECONDS = 24 * 3600

#: Request ids are version 4 UUIDs: 122 random bits, so that nobody can guess another's.
_REQUEST_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_STORE_DOWN = "The job store is unavailable; try again later"


def new_request_id() -> str:
    return str(uuid.uuid4())


def is_request_id(text: str) -> bool:
    """Whether ``text`` could be one of our ids, as we write them (lower case); anything else
    is answered 404 unread."""
    return _REQUEST_ID.fullmatch(text) is not None


def canonical_request_id(text: str) -> str:
    """An id as a client may send it, in the form we write: a UUID compares case-insensitively
    (RFC 9562, section 4), so ``6D64EDD9-...`` names the same job as ``6d64edd9-...``. Only
    ASCII is lowered, so that no other letter becomes a hex digit on the way."""
    return text.lower() if text.isascii() else text


@dataclass(frozen=True)
class WebhookAttempt:
    """One attempt at delivering a job's event, as the result call shows it."""

    at: float
    status: int | None
    error: str | None
    seconds: float

    def to_value(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "at": {"N": _number(self.at)},
            "seconds": {"N": _number(self.seconds)},
        }
        if self.status is not None:
            entry["status"] = {"N": str(self.status)}
        if self.error is not None:
            entry["error"] = {"S": self.error}
        return {"M": entry}

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> WebhookAttempt:
        entry = value["M"]
        status = entry.get("status")
        error = entry.get("error")
        return cls(
            at=float(entry["at"]["N"]),
            status=None if status is None else int(status["N"]),
            error=None if error is None else str(error["S"]),
            seconds=float(entry["seconds"]["N"]),
        )


@dataclass(frozen=True)
class Job:
    """One job as the table holds it. Times are Unix seconds."""

    request_id: str
    key_id: str
    status: str
    spec: RenderSpec
    render_key: str
    created_at: float
    updated_at: float
    give_up_at: float
    credit: str = CREDIT_HELD
    cache_hit: bool | None = None
    error: str | None = None
    error_status: int | None = None
    started_at: float | None = None
    completed_at: float | None = None
    attempts: int = 0
    lease_token: str | None = None
    lease_expires_at: float = 0.0
    #: Where the completion event goes, if the submit named one.
    webhook: str | None = None
    webhook_state: str | None = None
    webhook_attempts: tuple[WebhookAttempt, ...] = ()
    #: What a ``QUEUED`` job that was taken once waits for before it can render
    #: (:data:`WAITING_FOR_GPU`); ``None`` for a job that waits for a worker.
    waiting_for: str | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def stale(self, now: float) -> bool:
        """Past its time with nobody working on it: anyone may fail it."""
        if self.terminal or now < self.give_up_at:
            return False
        return self.status == QUEUED or self.lease_expires_at < now

    # -- as a DynamoDB item ----------------------------------------------------------------

    def to_item(self) -> dict[str, Any]:
        spec = self.spec
        item: dict[str, Any] = {
            "request_id": {"S": self.request_id},
            "key_id": {"S": self.key_id},
            "status": {"S": self.status},
            "backend": {"S": spec.backend},
            "model": {"S": spec.model},
            "prompt": {"S": spec.prompt},
            "seed": {"N": str(spec.seed)},
            "steps": {"N": str(spec.num_inference_steps)},
            "width": {"N": str(spec.img_width)},
            "height": {"N": str(spec.img_height)},
            "render_key": {"S": self.render_key},
            "created_at": {"N": _number(self.created_at)},
            "updated_at": {"N": _number(self.updated_at)},
            "give_up_at": {"N": _number(self.give_up_at)},
            "credit": {"S": self.credit},
            "attempts": {"N": str(self.attempts)},
            "expires_at": {"N": str(int(self.record_expiry()))},
        }
        if self.cache_hit is not None:
            item["cache"] = {"S": "HIT" if self.cache_hit else "MISS"}
        if self.completed_at is not None:
            item["completed_at"] = {"N": _number(self.completed_at)}
        if self.error is not None:
            item["error"] = {"S": self.error}
            item["error_status"] = {"N": str(self.error_status or 500)}
        if self.webhook is not None:
            item["webhook"] = {"S": self.webhook}
        if self.webhook_state is not None:
            item["webhook_state"] = {"S": self.webhook_state}
        return item

    def record_expiry(self) -> float:
        """When TTL may sweep the record: a day after the job ended, or could have."""
        ended = self.completed_at if self.completed_at is not None else self.give_up_at
        return ended + RECORD_RETENTION_SECONDS

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Job:
        def text(name: str) -> str | None:
            value = item.get(name)
            return None if value is None else str(value["S"])

        def number(name: str) -> float | None:
            value = item.get(name)
            return None if value is None else float(value["N"])

        cache = text("cache")
        error_status = number("error_status")
        return cls(
            request_id=str(text("request_id")),
            key_id=str(text("key_id")),
            status=str(text("status")),
            spec=RenderSpec(
                backend=str(text("backend")),
                model=str(text("model")),
                prompt=str(text("prompt")),
                seed=int(number("seed") or 0),
                num_inference_steps=int(number("steps") or 0),
                img_width=int(number("width") or 0),
                img_height=int(number("height") or 0),
            ),
            render_key=str(text("render_key")),
            created_at=number("created_at") or 0.0,
            updated_at=number("updated_at") or 0.0,
            give_up_at=number("give_up_at") or 0.0,
            credit=text("credit") or CREDIT_HELD,
            cache_hit=None if cache is None else cache == "HIT",
            error=text("error"),
            error_status=None if error_status is None else int(error_status),
            started_at=number("started_at"),
            completed_at=number("completed_at"),
            attempts=int(number("attempts") or 0),
            lease_token=text("lease_token"),
            lease_expires_at=number("lease_expires_at") or 0.0,
            webhook=text("webhook"),
            webhook_state=text("webhook_state"),
            waiting_for=text("waiting_for"),
            webhook_attempts=tuple(
                WebhookAttempt.from_value(value)
                for value in item.get("webhook_attempts", {}).get("L", [])
            ),
        )


def _number(value: float) -> str:
    return f"{value:.3f}"


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
            raise _store_down("read", exc) from None
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
        raise _store_down("submit", None)

    def put_completed(self, job: Job) -> None:
        """Write a job that was done before it began: its image was already cached."""
        try:
            self._client().put_item(
                TableName=self.table,
                Item=job.to_item(),
                ConditionExpression="attribute_not_exists(request_id)",
            )
        except (ClientError, BotoCoreError) as exc:
            raise _store_down("submit", exc) from None

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
                    ":until": {"N": _number(now + lease_seconds)},
                    ":now": {"N": _number(now)},
                    ":one": {"N": "1"},
                },
            )
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise _store_down("claim", exc) from None
        except BotoCoreError as exc:
            raise _store_down("claim", exc) from None
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
                    ":now": {"N": _number(self._clock())},
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
            ":now": {"N": _number(now)},
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
        raise _store_down("end", None)

    # -- the completion event's bookkeeping -------------------------------------------------

    def mark_webhook_queued(self, request_id: str) -> None:
        """Record that the event is with the sender now. Best effort: an event left
        ``pending`` is queued again by the next reader, and the sender drops duplicates."""
        self._update_webhook(
            request_id,
            "SET webhook_state = :queued",
            "webhook_state = :pending",
            {":queued": {"S": WEBHOOK_QUEUED}, ":pending": {"S": WEBHOOK_PENDING}},
        )

    def record_webhook_attempt(self, request_id: str, attempt: WebhookAttempt, state: str) -> None:
        """Append an attempt to the job's record and set where its event stands."""
        self._update_webhook(
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

    def _update_webhook(
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
                raise _store_down("webhook", exc) from None
        except BotoCoreError as exc:
            raise _store_down("webhook", exc) from None

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
            raise _store_down(operation, exc) from None
        except BotoCoreError as exc:
            raise _store_down(operation, exc) from None
        return None


def _token(*parts: object) -> str:
    """A client request token (at most 36 characters) for one logical write."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(map(str, parts))))


def _store_down(operation: str, error: Exception | None) -> InternalError:
    logger.error(
        "Job store unavailable",
        extra={"operation": operation, "error": type(error).__name__ if error else "refused"},
    )
    metrics.add_metric(name="JobStoreErrors", unit="Count", value=1)
    return InternalError(_STORE_DOWN)
