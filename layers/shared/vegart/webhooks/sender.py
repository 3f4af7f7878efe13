"""Delivering a job's completion event: one attempt per delivery of its message.

Off the render path on purpose: the job ended before its event was queued, so a receiver that
is down, slow or wrong never delays or fails a job; it only costs the sender its attempts.

Each attempt re-checks the target (DNS answers change), signs the body anew with the key's
current secrets and a fresh timestamp (a receiver rejects old ones), and records itself on
the job, where the owner's status and result calls show it. After an attempt that was not
delivered the message comes back on :data:`RETRY_SCHEDULE_SECONDS` (about four hours in
all, as Standard Webhooks suggests: soon at first, then further apart), unless the receiver
answered 410 Gone, which means "stop". The ``webhook-id`` is derived from the job and its
outcome, so it is the same on every retry and on any duplicate the queues make.

docs/contract.md, "Webhooks", is what a receiver is promised.
"""

from __future__ import annotations

import json
import ssl
import time
import uuid
from collections.abc import Callable, Mapping, Sequence

from vegart.errors import NotFound
from vegart.jobs.deliveries import DeliveryRecords
from vegart.jobs.documents import result_document
from vegart.jobs.record import (
    WEBHOOK_DELIVERED,
    WEBHOOK_EXHAUSTED,
    WEBHOOK_FINAL,
    WEBHOOK_GONE,
    WEBHOOK_RETRYING,
    Job,
    WebhookAttempt,
    is_request_id,
)
from vegart.jobs.store import JobStore
from vegart.observability import logger, metrics
from vegart.queues import Message, MessageQueue, RetryLater, request_id_of
from vegart.render.cache import RenderCache
from vegart.webhooks.signatures import WebhookSecrets, signature_header
from vegart.webhooks.targets import Destination, RefusedTarget, TargetPolicy
from vegart.webhooks.transport import Outcome, post

#: Seconds between an attempt that failed and the next: nine attempts over about four hours.
RETRY_SCHEDULE_SECONDS = (5, 30, 120, 300, 900, 1800, 3600, 7200)
#: How long one attempt may take, connect to last byte.
ATTEMPT_TIMEOUT_SECONDS = 10.0
#: The receiver asks for no more attempts.
GONE = 410
#: An attempt that cannot be made: the key that would sign it no longer exists.
KEY_DELETED = "the key was deleted"

Poster = Callable[..., Outcome]


def event_id(job: Job) -> str:
    """The event's ``webhook-id``: one per job and outcome, stable across every retry."""
    return "msg_" + uuid.uuid5(uuid.NAMESPACE_URL, f"vegart:{job.request_id}:{job.status}").hex


def event_body(job: Job, outputs: RenderCache, url_seconds: int) -> bytes:
    """What the event carries: the result call's document (its output URL signed now)."""
    document = result_document(job, outputs, url_seconds)
    return json.dumps(document, separators=(",", ":")).encode()


class WebhookSender:
    """Attempts jobs' events, one message at a time."""

    def __init__(
        self,
        store: JobStore,
        deliveries: DeliveryRecords,
        secrets: WebhookSecrets,
        outputs: RenderCache,
        *,
        targets: TargetPolicy,
        queue: MessageQueue,
        url_seconds: int,
        timeout: float = ATTEMPT_TIMEOUT_SECONDS,
        schedule: Sequence[int] = RETRY_SCHEDULE_SECONDS,
        tls: ssl.SSLContext | None = None,
        poster: Poster = post,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.deliveries = deliveries
        self.secrets = secrets
        self.outputs = outputs
        self.targets = targets
        self.queue = queue
        self.url_seconds = url_seconds
        self.timeout = timeout
        self.schedule = tuple(schedule)
        self._tls = tls
        self._post = poster
        self._clock = clock

    def handle(self, message: Message) -> str:
        """One delivery of an event's message; what came of it (for the log).

        :class:`RetryLater`, after asking the queue to bring the message back on schedule,
        when the attempt failed and another is due.
        """
        request_id = request_id_of(message.body)
        job = self.store.get(request_id) if request_id and is_request_id(request_id) else None
        if job is None or job.webhook is None or not job.terminal:
            return "nothing to send"
        if job.webhook_state in WEBHOOK_FINAL:
            return f"already {job.webhook_state}"
        attempt = self.attempt(job)
        number = len(job.webhook_attempts) + 1
        state = self._state_after(attempt, number)
        self.deliveries.record_attempt(job.request_id, attempt, state)
        metrics.add_metric(name="WebhookAttempts", unit="Count", value=1)
        log = {"request_id": job.request_id, "attempt": number, "status": attempt.status}
        logger.info("Webhook attempted", extra={**log, "error": attempt.error, "state": state})
        if state == WEBHOOK_RETRYING:
            wait = self.schedule[number - 1]
            self.queue.retry_in(message.receipt_handle, wait)
            raise RetryLater("the event was not delivered", seconds=wait)
        if state == WEBHOOK_DELIVERED:
            metrics.add_metric(name="WebhooksDelivered", unit="Count", value=1)
        else:
            metrics.add_metric(name="WebhooksAbandoned", unit="Count", value=1)
        return state

    def attempt(self, job: Job) -> WebhookAttempt:
        """Sign and POST the event once; never raises for what the receiver does."""
        now = self._clock()
        assert job.webhook is not None
        try:
            destination = self.targets.destination(self.targets.parse(job.webhook))
        except RefusedTarget as refused:
            return WebhookAttempt(now, None, refused.message, 0.0)
        try:
            secrets = self.secrets.get(job.key_id).signing(now)
        except NotFound:
            return WebhookAttempt(now, None, KEY_DELETED, 0.0)
        outcome = self._send(destination, job, secrets, now)
        return WebhookAttempt(now, outcome.status, outcome.error, outcome.seconds)

    def _send(
        self, destination: Destination, job: Job, secrets: Sequence[str], now: float
    ) -> Outcome:
        body = event_body(job, self.outputs, self.url_seconds)
        identity, timestamp = event_id(job), int(now)
        headers: Mapping[str, str] = {
            "webhook-id": identity,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(secrets, identity, timestamp, body),
        }
        return self._post(destination, body, headers, timeout=self.timeout, tls=self._tls)

    def _state_after(self, attempt: WebhookAttempt, number: int) -> str:
        if attempt.status is not None and 200 <= attempt.status < 300:
            return WEBHOOK_DELIVERED
        if attempt.status == GONE:
            return WEBHOOK_GONE
        if attempt.error == KEY_DELETED or number > len(self.schedule):
            return WEBHOOK_EXHAUSTED
        return WEBHOOK_RETRYING
