"""A v2 job as its record holds it: the statuses it passes through, what became of its credit
and of its completion event, its id, and how it can end.

A job's history is a straight line, whatever the queue delivers twice or a worker dies:

``QUEUED`` -> ``PROCESSING`` -> ``COMPLETED`` | ``FAILED``

(a job that a worker took but could not start, for want of a GPU copy, reads ``QUEUED`` again
with the reason in :attr:`Job.waiting_for`). The writes that move it along are the store's
(:mod:`vegart.jobs.store`); this module imports nothing of it.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from vegart.render.spec import RenderSpec

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

#: What a person reads on a job that ran out of time without an outcome.
TIMED_OUT = "The render did not finish in time; please submit it again"
#: What a person reads on a job that no worker could finish.
UNPROCESSABLE = "The render could not be completed; please submit it again"

#: Records are kept this long after a job ends (the contract promises at least an hour).
RECORD_RETENTION_SECONDS = 24 * 3600

#: Request ids are version 4 UUIDs: 122 random bits, so that nobody can guess another's.
_REQUEST_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


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
            "at": {"N": dynamo_number(self.at)},
            "seconds": {"N": dynamo_number(self.seconds)},
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
            "created_at": {"N": dynamo_number(self.created_at)},
            "updated_at": {"N": dynamo_number(self.updated_at)},
            "give_up_at": {"N": dynamo_number(self.give_up_at)},
            "credit": {"S": self.credit},
            "attempts": {"N": str(self.attempts)},
            "expires_at": {"N": str(int(self.record_expiry()))},
        }
        if self.cache_hit is not None:
            item["cache"] = {"S": "HIT" if self.cache_hit else "MISS"}
        if self.completed_at is not None:
            item["completed_at"] = {"N": dynamo_number(self.completed_at)}
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


def dynamo_number(value: float) -> str:
    """A time or a duration as a DynamoDB number: milliseconds are enough."""
    return f"{value:.3f}"
