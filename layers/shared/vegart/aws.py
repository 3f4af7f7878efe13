"""boto3 clients, created once per process and only when first used.

Creating a client costs milliseconds of a cold start; a warm invocation must not pay it again.
Timeouts are short on purpose: the cache and the secret sit on the request's critical path,
and a slow dependency must not eat the render's deadline.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from .config import settings

_CONFIG = Config(
    connect_timeout=2,
    read_timeout=3,
    retries={"mode": "standard", "max_attempts": 2},
)
_clients: dict[tuple[str, float | None], Any] = {}
_lock = threading.Lock()


def client(service: str, read_timeout: float | None = None) -> Any:
    """The process's one client for ``service`` (and ``read_timeout``, when a call needs a
    longer one than the default: a render waits on its backend for seconds, a cache read not)."""
    key = (service, read_timeout)
    existing = _clients.get(key)
    if existing is not None:
        return existing
    with _lock:
        if key not in _clients:
            config = _CONFIG
            if read_timeout is not None:
                # One attempt per call: the render's own loop retries within its deadline.
                config = _CONFIG.merge(
                    Config(read_timeout=read_timeout, retries={"max_attempts": 1})
                )
            _clients[key] = boto3.session.Session().client(
                service, config=config, endpoint_url=settings().aws_endpoint_url or None
            )
        return _clients[key]


def created_clients() -> tuple[str, ...]:
    """The services a client was made for so far, for the cold-start benchmark."""
    return tuple(dict.fromkeys(service for service, _ in _clients))


def reset_clients() -> None:
    """Forget every client, so that a test can point boto3 somewhere else."""
    with _lock:
        _clients.clear()


def error_code(error: ClientError) -> str:
    """The AWS error code of a failed call (``ConditionalCheckFailedException`` ...)."""
    return str(error.response.get("Error", {}).get("Code", ""))
