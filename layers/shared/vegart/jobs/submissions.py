"""Submitting a v2 job and reading it back: what the jobs function does with a request.

A submit decides the render completely (the seed of ``-1`` included), so that the worker
renders exactly what the client was promised and a v1 request with the same inputs shares
its cache entry. Then, in this order:

0. a ``webhook``, if named, must be one the gateway may call (400 naming it otherwise);
1. the image is cached already: the job is written ``COMPLETED`` at once and costs nothing
   (a disabled key is still refused, as on a v1 hit);
2. the key must be able to pay (401, 403, 406 before anything is sent);
3. the message is sent (SQS unreachable: 500, nothing written, nothing charged);
4. the job is written and its credit held, in one transaction (the table unreachable: 500,
   nothing charged, and the message sent in step 3 finds no job and is dropped).

The message goes before the record because a record without a message would wait forever,
while a message without a record is harmless: the worker drops it once the submit that sent
it has certainly given up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from vegart.contract import RenderRequest
from vegart.errors import NotFound
from vegart.jobs.outbox import WebhookOutbox
from vegart.jobs.record import (
    COMPLETED,
    CREDIT_NONE,
    QUEUED,
    TIMED_OUT,
    WEBHOOK_PENDING,
    Job,
    canonical_request_id,
    is_request_id,
    new_request_id,
)
from vegart.jobs.store import JobStore
from vegart.observability import logger, metrics
from vegart.queues import MessageQueue
from vegart.render.cache import RenderCache
from vegart.render.spec import cache_key, decide, pick_seed


class CheckedWebhook(Protocol):
    """A webhook that may be called: its URL, as the job keeps it."""

    @property
    def url(self) -> str: ...


class WebhookCheck(Protocol):
    """What a submit asks of a webhook: that it may be called, or a 400 naming ``webhook``.

    The composition root gives the webhooks' own policy (``vegart.webhooks.targets``): jobs
    import nothing of the webhooks, which import jobs.
    """

    def check(self, url: object) -> CheckedWebhook: ...


class JobSubmissions:
    """Submits jobs and finds them again for the key that owns them."""

    def __init__(
        self,
        backend: tuple[str, str],
        cache: RenderCache | None,
        store: JobStore,
        queue: MessageQueue,
        *,
        outbox: WebhookOutbox,
        targets: WebhookCheck,
        timeout_seconds: float,
        seeds: Callable[[], int] = pick_seed,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``backend`` is the deployment's ``(name, model)``, which its cache keys carry."""
        self.backend = backend
        self.cache = cache
        self.store = store
        self.queue = queue
        self.outbox = outbox
        self.targets = targets
        self.timeout_seconds = timeout_seconds
        self._seeds = seeds
        self._clock = clock

    def submit(self, request: RenderRequest, account: str, *, webhook: object = None) -> Job:
        """Queue a render for ``account`` (a key id); the job as written. ``webhook`` is the
        body's field as sent (``None`` when absent)."""
        target = None if webhook is None else self.targets.check(webhook)
        spec = decide(request, self.backend, self._seeds)
        now = self._clock()
        job = Job(
            request_id=new_request_id(),
            key_id=account,
            status=QUEUED,
            spec=spec,
            render_key=cache_key(spec),
            created_at=now,
            updated_at=now,
            give_up_at=now + self.timeout_seconds,
            webhook=None if target is None else target.url,
        )
        ledger = self.store.ledger
        if self.cache is not None and self.cache.get(job.render_key) is not None:
            ledger.balance(account)  # a hit is free, not open: 403 for a disabled key
            done = replace(
                job, status=COMPLETED, credit=CREDIT_NONE, cache_hit=True, completed_at=now
            )
            if done.webhook is not None:
                done = replace(done, webhook_state=WEBHOOK_PENDING)
            self.store.put_completed(done)
            self.outbox.announce(done)  # not queued now: the owner's first read queues it
            metrics.add_metric(name="JobsCompletedAtSubmit", unit="Count", value=1)
            return done
        ledger.require_credit(account)
        self.queue.send(job.request_id)
        self.store.submit(job)
        metrics.add_metric(name="JobsQueued", unit="Count", value=1)
        return job

    def find(self, request_id: str, account: str) -> Job:
        """The job ``request_id`` of ``account``; :class:`NotFound` for anything else.

        Ids that cannot be ours, ids of no job and jobs of other keys all look the same, so
        that nobody learns whether an id exists; an id in upper case is the same id. A job
        seen past its time with nobody working on it is failed here, its credit given back:
        no job stays unfinished for ever.
        """
        request_id = canonical_request_id(request_id)
        if not is_request_id(request_id):
            raise NotFound()
        job = self.store.get(request_id)
        if job is None or job.key_id != account:
            raise NotFound()
        if job.stale(self._clock()):
            logger.warning("Giving up a job past its time", extra={"request_id": request_id})
            self.store.give_up(job, TIMED_OUT, 504)
            job = self.store.get(request_id) or job
        if job.terminal:
            self.outbox.announce(job)  # an event still owed after a lost hand-over
        return job
