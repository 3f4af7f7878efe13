"""What a warm function instance keeps between invocations, built from its settings on first use.

A function's ``app.py`` reads the settings once and makes one :class:`Wiring`; the domain gets
its collaborators from it as arguments. Building lazily keeps the cold start to what the first
request needs, and a test builds its own wiring (or loads the function anew) instead of
patching module globals.

Each builder imports what it builds when it is first asked: the composition root knows every
collaborator of every function, and a function that never asks for the job worker (the
authorizer, the render function) never imports it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING

from vegart.aws import AwsClients
from vegart.config import ConfigurationError, Settings

if TYPE_CHECKING:
    from vegart.credits import CreditLedger
    from vegart.jobs.deliveries import DeliveryRecords
    from vegart.jobs.outbox import WebhookOutbox
    from vegart.jobs.store import JobStore
    from vegart.jobs.submissions import JobSubmissions
    from vegart.jobs.worker import DeadLetters, JobWorker
    from vegart.keys import KeyStore
    from vegart.queues import MessageQueue
    from vegart.render.cache import RenderCache
    from vegart.render.service import RenderService
    from vegart.webhooks.sender import WebhookSender
    from vegart.webhooks.signatures import WebhookSecrets
    from vegart.webhooks.targets import TargetPolicy


class Wiring:
    """One function instance's collaborators, each made when first asked for."""

    def __init__(
        self,
        config: Settings,
        clients: AwsClients | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.clients = clients or AwsClients(config.aws_endpoint_url)
        #: How the instance waits out a back-off: a retry's, a job worker's second look at a
        #: job not written yet. The system's on Lambda; one that returns at once in a test,
        #: set before the instance's first event (``devkit.functions.load_function``).
        self.sleep = sleep

    @cached_property
    def render_service(self) -> RenderService:
        """v1's render service: the backend, the cache, the ledger and the leases."""
        return self._render_service(self.ledger)

    @cached_property
    def job_render_service(self) -> RenderService:
        """The same render path for a job's worker, without a ledger: the job holds its credit."""
        return self._render_service(None)

    @cached_property
    def cache(self) -> RenderCache | None:
        from vegart.render.cache import RenderCache

        config, clients = self.config, self.clients
        if not config.cache_bucket:
            return None
        return RenderCache(config.cache_bucket, clients.s3, signer=clients.s3_signer)

    @cached_property
    def outputs(self) -> RenderCache:
        """The cache as the jobs function reads it: where a job's output lives."""
        if self.cache is None:
            raise ConfigurationError("CACHE_BUCKET is required to serve v2 jobs")
        return self.cache

    @cached_property
    def ledger(self) -> CreditLedger | None:
        from vegart.credits import CreditLedger

        if not self.config.keys_table:
            return None
        return CreditLedger(self.config.keys_table, self.clients.dynamodb)

    @cached_property
    def key_store(self) -> KeyStore:
        """The keys table, for the authorizer."""
        from vegart.keys import KeyStore

        return KeyStore(self.config.keys_table, self.clients.dynamodb)

    @cached_property
    def job_store(self) -> JobStore:
        from vegart.credits import CreditLedger
        from vegart.jobs.store import JobStore

        return JobStore(
            self.config.jobs_table,
            self.clients.dynamodb,
            CreditLedger(self.config.keys_table, self.clients.dynamodb),
        )

    @cached_property
    def job_queue(self) -> MessageQueue:
        return self._queue(self.config.job_queue_url, "render queue", "JobQueueErrors")

    @cached_property
    def job_dead_letter_queue(self) -> MessageQueue:
        return self._queue(
            self.config.job_dead_letter_queue_url, "dead-letter queue", "JobQueueErrors"
        )

    @cached_property
    def webhook_queue(self) -> MessageQueue:
        return self._queue(self.config.webhook_queue_url, "webhook queue", "WebhookQueueErrors")

    @cached_property
    def deliveries(self) -> DeliveryRecords:
        """Where each job's completion event stands, on the job's record."""
        from vegart.jobs.deliveries import DeliveryRecords

        return DeliveryRecords(self.config.jobs_table, self.clients.dynamodb)

    @cached_property
    def webhook_outbox(self) -> WebhookOutbox:
        from vegart.jobs.outbox import WebhookOutbox

        return WebhookOutbox(self.job_store, self.deliveries, self.webhook_queue)

    @cached_property
    def webhook_targets(self) -> TargetPolicy:
        from vegart.webhooks.targets import TargetPolicy

        return TargetPolicy(allow_loopback=self.config.webhook_allow_loopback)

    @cached_property
    def webhook_secrets(self) -> WebhookSecrets:
        from vegart.webhooks.signatures import WebhookSecrets

        return WebhookSecrets(self.config.keys_table, self.clients.dynamodb)

    @cached_property
    def webhook_sender(self) -> WebhookSender:
        """The sender's side: attempt a job's completion event, record how it went."""
        from vegart.webhooks.sender import WebhookSender

        return WebhookSender(
            self.job_store,
            self.deliveries,
            self.webhook_secrets,
            self.outputs,
            targets=self.webhook_targets,
            queue=self.webhook_queue,
            url_seconds=self.config.output_url_seconds,
        )

    @cached_property
    def submissions(self) -> JobSubmissions:
        """The jobs function's side: submit, and find a job for its owner."""
        from vegart.jobs.submissions import JobSubmissions
        from vegart.render.backends import backend_identity

        return JobSubmissions(
            backend_identity(self.config),
            self.cache,
            self.job_store,
            self.job_queue,
            outbox=self.webhook_outbox,
            targets=self.webhook_targets,
            timeout_seconds=self.config.job_timeout_seconds,
        )

    @cached_property
    def job_worker(self) -> JobWorker:
        """The worker's side: render a job through the v1 path, record its end."""
        from vegart.jobs.worker import JobWorker

        return JobWorker(
            self.job_render_service,
            self.job_store,
            self.job_queue,
            self.webhook_outbox,
            sleep=self.sleep,
        )

    @cached_property
    def dead_letters(self) -> DeadLetters:
        """The dead-letter handler's side: fail the jobs no worker could finish."""
        from vegart.jobs.worker import DeadLetters

        return DeadLetters(self.job_store, self.webhook_outbox, self.job_dead_letter_queue)

    def _queue(self, url: str, purpose: str, error_metric: str) -> MessageQueue:
        from vegart.queues import MessageQueue

        return MessageQueue(url, self.clients.sqs, purpose=purpose, error_metric=error_metric)

    def _render_service(self, ledger: CreditLedger | None) -> RenderService:
        from vegart.render.backends import make_backend
        from vegart.render.leases import RenderLeases
        from vegart.render.service import RenderService

        config, clients = self.config, self.clients
        leases = (
            RenderLeases(config.leases_table, clients.dynamodb) if config.leases_table else None
        )
        backend = make_backend(config, clients, sleep=self.sleep)
        return RenderService(backend, self.cache, ledger, leases=leases)
