"""The worker's side of a job: take it, render it through the v1 path, record how it ended.

Each message is handled so that delivering it twice, late, or to two workers at once changes
nothing a second time:

- a job that has ended is acknowledged as it is (a duplicate, or a redelivery after a worker
  finished but died before it could delete the message);
- a job another worker holds is handed back to the queue, to be looked at again once that
  worker's lease could have run out (if the worker died, its successor takes over);
- the render goes through the same :class:`RenderService` as v1 (cache, coalescing, retries,
  the image check), on a service without a ledger: the credit was held at submit;
- a contract error (the backend's 502, a timeout, a refused prompt) ends the job ``FAILED``,
  refunded; anything unexpected releases the claim and hands the message back, so that a
  later delivery tries again, and the last one ends in the dead-letter queue, whose handler
  (:meth:`JobWorker.give_up`) fails the job;
- a GPU endpoint at zero copies (:class:`NoCapacity`) is no failure: one is starting. The job
  goes back to ``QUEUED``, saying that it waits for a GPU, a fresh reminder is sent for
  :data:`CAPACITY_POLL_SECONDS` later, and this delivery acknowledged, so that waiting
  (minutes) spends none of the message's deliveries.
  ``JobTimeoutSeconds`` after submit the job is given up as any other.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from vegart.deadline import Deadline
from vegart.errors import ContractError, InternalError, NoCapacity
from vegart.jobs.outbox import WebhookOutbox
from vegart.jobs.record import TIMED_OUT, UNPROCESSABLE, WAITING_FOR_GPU, Job
from vegart.jobs.store import JobStore
from vegart.observability import logger, metrics
from vegart.queues import Message, MessageQueue, RetryLater, request_id_of
from vegart.render.service import RenderService

#: A submit sends its message just before it writes the job: a worker that finds no job for
#: a message younger than this looks again, later. (The jobs function's timeout is 28 s.)
ORPHAN_GRACE_SECONDS = 60
#: Re-reads of a job not written yet, within the same delivery, before handing it back.
_FIRST_LOOKS = (0.05, 0.1, 0.2, 0.4, 0.8)
#: How soon a job that found no GPU copy running looks again: at most this long is added to a
#: wait of minutes for the copy, and each look costs one short invocation and one refused call
#: (which also keeps the endpoint's wake alarm firing).
CAPACITY_POLL_SECONDS = 15


class JobWorker:
    """Works jobs from their messages."""

    def __init__(
        self,
        service: RenderService,
        store: JobStore,
        queue: MessageQueue,
        outbox: WebhookOutbox,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if service.ledger is not None:
            raise ValueError("a worker's render service must not charge: submit held the credit")
        self.service = service
        self.store = store
        self.queue = queue
        self.outbox = outbox
        self._clock = clock
        self._sleep = sleep

    def handle(self, message: Message, deadline: Deadline) -> str:
        """Work one delivery; what came of it (for the log). A :class:`RetryLater` has already
        asked the queue to bring the message back soon; the caller reports it as failed."""
        try:
            return self._work(message, deadline)
        except RetryLater as later:
            self.queue.retry_in(message.receipt_handle, later.seconds)
            raise

    def _work(self, message: Message, deadline: Deadline) -> str:
        request_id = request_id_of(message.body)
        if request_id is None:
            logger.warning("Dropping a message that names no job")
            return "dropped"
        job = self._find(request_id, message)
        if job is None:
            metrics.add_metric(name="OrphanMessages", unit="Count", value=1)
            return "orphan"
        if job.terminal:
            metrics.add_metric(name="DuplicateDeliveries", unit="Count", value=1)
            _require_queued(self.outbox.announce(job))
            return "duplicate"
        if self._clock() >= job.give_up_at:
            self.store.give_up(job, TIMED_OUT, 504)
            _require_queued(self.outbox.announce_ended(job))
            return "timed out"
        claimed = self.store.claim(job, deadline.remaining() + 2)
        if claimed is None:
            current = self.store.get(request_id)
            if current is None or current.terminal:
                _require_queued(current is None or self.outbox.announce(current))
                return "duplicate"
            raise RetryLater(
                "another worker holds the job",
                seconds=max(1, int(current.lease_expires_at - self._clock()) + 1),
            )
        return self._render(claimed, deadline)

    def _find(self, request_id: str, message: Message) -> Job | None:
        """The message's job; a young message whose job is not written yet comes back later."""
        pauses = iter(_FIRST_LOOKS)
        while True:
            job = self.store.get(request_id)
            if job is not None:
                return job
            if self._clock() - message.sent_at >= ORPHAN_GRACE_SECONDS:
                logger.info("Dropping a message whose job was never written")
                return None
            pause = next(pauses, None)
            if pause is None:
                raise RetryLater("the job is not written yet")
            self._sleep(pause)

    def _render(self, job: Job, deadline: Deadline) -> str:
        try:
            result = self.service.render(job.spec, deadline, job.request_id)
        except NoCapacity:
            self.store.requeue(job, WAITING_FOR_GPU)
            return self._wait_for_capacity(job)
        except ContractError as error:
            if self.store.fail(job, error.message, error.status):
                metrics.add_metric(name="JobsFailed", unit="Count", value=1)
            logger.info("Job failed", extra={"status": error.status, "error": error.message})
            _require_queued(self.outbox.announce_ended(job))
            return "failed"
        except Exception:
            # Anything else is this worker's own trouble: give the claim back so that the
            # message's next delivery starts at once. (A process going down runs nothing.)
            self.store.release(job)
            raise
        completed = self.store.complete(job, cache_hit=result.cache_hit)
        if completed:
            metrics.add_metric(name="JobsCompleted", unit="Count", value=1)
        _require_queued(self.outbox.announce_ended(job))
        if not completed:
            return "superseded"
        return "completed (cache hit)" if result.cache_hit else "completed"

    def _wait_for_capacity(self, job: Job) -> str:
        """Look at the job again once a GPU copy may be up, by a new message: this delivery
        is acknowledged, so that the wait counts against no delivery limit. If the reminder
        cannot be sent, this message is kept instead and comes back as soon."""
        try:
            self.queue.send(job.request_id, delay_seconds=CAPACITY_POLL_SECONDS)
        except InternalError:
            raise RetryLater("no GPU copy is running", seconds=CAPACITY_POLL_SECONDS) from None
        metrics.add_metric(name="JobsWaitingForCapacity", unit="Count", value=1)
        return "waiting for a GPU copy"


class DeadLetters:
    """Ends the jobs of the dead-letter queue's messages: no render, only the job store."""

    def __init__(
        self,
        store: JobStore,
        outbox: WebhookOutbox,
        queue: MessageQueue,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.queue = queue
        self._clock = clock

    def handle(self, message: Message) -> str:
        """A message from the dead-letter queue: every delivery failed; end its job ``FAILED``.

        :class:`RetryLater` if a worker still holds the job (the last delivery's worker died
        under a lease that has not run out yet): the message comes back just after that lease
        ends, when the job can be given up, rather than after the queue's whole visibility
        timeout.
        """
        try:
            return self._end(message)
        except RetryLater as later:
            self.queue.retry_in(message.receipt_handle, later.seconds)
            raise

    def _end(self, message: Message) -> str:
        request_id = request_id_of(message.body)
        job = self.store.get(request_id) if request_id else None
        if job is None:
            return "nothing to do"
        if job.terminal:
            _require_queued(self.outbox.announce(job))
            return "nothing to do"
        if not self.store.give_up(job, UNPROCESSABLE, 500):
            current = self.store.get(job.request_id)
            if current is not None and not current.terminal:
                raise RetryLater(
                    "a worker still holds the job",
                    seconds=max(1, int(current.lease_expires_at - self._clock()) + 1),
                )
            return "ended meanwhile"
        logger.error("Job failed after every delivery", extra={"request_id": job.request_id})
        metrics.add_metric(name="JobsDeadLettered", unit="Count", value=1)
        _require_queued(self.outbox.announce_ended(job))
        return "failed"


def _require_queued(queued: bool) -> None:
    """A completion event that could not be queued keeps the job's message: its next
    delivery finds the job ended and queues the event again."""
    if not queued:
        raise RetryLater("the completion event could not be queued")
