"""Handing a finished job's completion event to the webhook sender, at least once.

The job's end and its event's due are one write (the job store sets ``webhook_state`` to
``pending`` as it ends the job), and the event goes to the delivery queue after it. Between
the two a process can die, or SQS can refuse the message; then whoever next sees the job
still ``pending`` queues it: the job worker on the redelivery of its message (a worker that
could not queue the event hands its job message back for exactly this), the dead-letter
handler, or the owner's next status read. The sender drops an event already delivered, and a
receiver recognises a repeat by its ``webhook-id``.
"""

from __future__ import annotations

import contextlib

from vegart.errors import InternalError
from vegart.jobs.deliveries import DeliveryRecords
from vegart.jobs.record import WEBHOOK_PENDING, Job
from vegart.jobs.store import JobStore
from vegart.queues import MessageQueue


class WebhookOutbox:
    """Queues the events that ended jobs owe."""

    def __init__(self, store: JobStore, deliveries: DeliveryRecords, queue: MessageQueue) -> None:
        self.store = store
        self.deliveries = deliveries
        self.queue = queue

    def announce(self, job: Job) -> bool:
        """Queue ``job``'s event if it is owed and not queued yet (``job`` as just read);
        ``False`` only when it is owed and could not be queued."""
        if job.webhook is None or job.webhook_state != WEBHOOK_PENDING:
            return True
        try:
            self.queue.send(job.request_id)
        except InternalError:
            return False
        # Queued all the same if this fails: a later reader may queue it again, harmlessly.
        with contextlib.suppress(InternalError):
            self.deliveries.mark_queued(job.request_id)
        return True

    def announce_ended(self, job: Job) -> bool:
        """:meth:`announce` for a job this caller has just ended (``job`` as it was before):
        read again, since the end wrote what the event needs."""
        if job.webhook is None:
            return True
        current = self.store.get(job.request_id)
        return current is None or self.announce(current)
