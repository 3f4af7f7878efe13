"""Name resolution that never leaves this machine, for the dev kit's processes.

The gateway resolves a webhook's host before it calls it (``vegart.webhooks.targets``). In
tests and benchmarks, webhooks name hosts that a fuzzer made up, or a document's example
(``example.com``): resolving them would send DNS queries off the machine, to whatever resolver
it has. With :func:`use_offline_dns`, a literal address resolves to itself, ``localhost`` to
loopback, and any other name is unknown (as a name that does not exist is), without a query.

The test session uses it; the local stack and its Lambda instances use it when
:data:`OFFLINE_DNS` is set in their environment, as ``devkit.stack_process`` sets it. ``make
run`` for a person leaves it unset: a webhook there may name a real receiver.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Any

#: The variable that asks a dev kit process to resolve offline.
OFFLINE_DNS = "VEGART_OFFLINE_DNS"
_LOCALHOST = {"localhost", "localhost."}
_system_getaddrinfo = socket.getaddrinfo


def _offline_getaddrinfo(  # noqa: PLR0917 - socket.getaddrinfo's own signature
    host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
) -> Any:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if isinstance(host, str) and host.lower() in _LOCALHOST:
        host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    # A name is answered "not known" by the C library itself, before any query is sent.
    return _system_getaddrinfo(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)


def use_offline_dns() -> None:
    """Resolve offline in this process from now on."""
    socket.getaddrinfo = _offline_getaddrinfo


def use_offline_dns_if_asked(env: Mapping[str, str] | None = None) -> None:
    """:func:`use_offline_dns`, if :data:`OFFLINE_DNS` is set in ``env`` (the process's)."""
    if (os.environ if env is None else env).get(OFFLINE_DNS):
        use_offline_dns()
