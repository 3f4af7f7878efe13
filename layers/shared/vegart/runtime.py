"""The objects a warm Lambda keeps between invocations, built on first use.

Building lazily keeps imports cheap (cold start) and lets tests configure the environment
before anything reads it; :func:`reset` forgets them all between tests.
"""

from __future__ import annotations

from functools import cache

from . import aws
from .backends import make_backend
from .cache import RenderCache
from .config import settings
from .credits import CreditLedger
from .keys import KeyStore
from .leases import RenderLeases
from .render import RenderService


@cache
def render_service() -> RenderService:
    """The process's render service, wired from the deployment's settings."""
    config = settings()
    backend = make_backend(config)
    store = (
        RenderCache(config.cache_bucket, lambda: aws.client("s3")) if config.cache_bucket else None
    )
    ledger = (
        CreditLedger(config.keys_table, lambda: aws.client("dynamodb"))
        if config.keys_table
        else None
    )
    leases = (
        RenderLeases(config.leases_table, lambda: aws.client("dynamodb"))
        if config.leases_table
        else None
    )
    return RenderService(backend, store, ledger, leases=leases)


@cache
def key_store() -> KeyStore:
    """The keys table, for the authorizer."""
    return KeyStore(settings().keys_table, lambda: aws.client("dynamodb"))


def reset() -> None:
    """Forget settings, clients and services, as a new cold start would."""
    render_service.cache_clear()
    key_store.cache_clear()
    settings.cache_clear()
    aws.reset_clients()
