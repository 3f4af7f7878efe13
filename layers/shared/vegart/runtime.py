"""What a warm function instance keeps between invocations, built from its settings on first use.

A function's ``app.py`` reads the settings once and makes one :class:`Wiring`; the domain gets
its collaborators from it as arguments. Building lazily keeps the cold start to what the first
request needs, and a test builds its own wiring (or loads the function anew) instead of
patching module globals.
"""

from __future__ import annotations

from functools import cached_property

from .aws import AwsClients
from .backends import make_backend
from .cache import RenderCache
from .config import Settings
from .credits import CreditLedger
from .keys import KeyStore
from .leases import RenderLeases
from .render_service import RenderService


class Wiring:
    """One function instance's collaborators, each made when first asked for."""

    def __init__(self, config: Settings, clients: AwsClients | None = None) -> None:
        self.config = config
        self.clients = clients or AwsClients(config.aws_endpoint_url)

    @cached_property
    def render_service(self) -> RenderService:
        """The render service: the backend, the cache, the ledger and the leases."""
        config, clients = self.config, self.clients
        dynamodb = clients.dynamodb
        return RenderService(
            make_backend(config, clients),
            RenderCache(config.cache_bucket, clients.s3) if config.cache_bucket else None,
            CreditLedger(config.keys_table, dynamodb) if config.keys_table else None,
            leases=RenderLeases(config.leases_table, dynamodb) if config.leases_table else None,
        )

    @cached_property
    def key_store(self) -> KeyStore:
        """The keys table, for the authorizer."""
        return KeyStore(self.config.keys_table, self.clients.dynamodb)
