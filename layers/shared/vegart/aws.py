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

_CONFIG = Config(
    connect_timeout=2,
    read_timeout=3,
    retries={"mode": "standard", "max_attempts": 2},
)
_clients: dict[str, Any] = {}
_lock = threading.Lock()


def client(service: str) -> Any:
    """The process's one client for ``service``."""
    existing = _clients.get(service)
    if existing is not None:
        return existing
    with _lock:
        if service not in _clients:
            _clients[service] = boto3.session.Session().client(service, config=_CONFIG)
        return _clients[service]


def created_clients() -> tuple[str, ...]:
    """The services a client was made for so far, for the cold-start benchmark."""
    return tuple(_clients)


def reset_clients() -> None:
    """Forget every client, so that a test can point boto3 somewhere else."""
    with _lock:
        _clients.clear()
