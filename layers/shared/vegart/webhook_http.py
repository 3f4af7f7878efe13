"""One webhook attempt over HTTP: to the checked address, within its time, no redirects.

Written on :mod:`http.client` rather than a session library because each of these must hold
for certain, and there they are one line each:

- the socket connects to the :class:`~vegart.webhook_targets.Destination`'s address, while
  ``Host`` and TLS (SNI and the certificate's name check) use the URL's host name;
- a redirect is an answer like any other (it is not followed, so it cannot lead elsewhere);
- the whole attempt, connect to last byte read, is cut at its timeout by closing the socket
  from a timer: a receiver that trickles a byte a second cannot hold a sender for longer.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .webhook_targets import Destination

#: The most of a receiver's answer that is read (and thrown away).
MAX_ANSWER_BYTES = 64 * 1024
USER_AGENT = "VegaRT-Gateway-Webhooks/1"


@dataclass(frozen=True)
class Outcome:
    """How an attempt went: the receiver's status, or what went wrong instead."""

    status: int | None
    #: ``timeout``, ``connection failed``, ``tls failed``, ``bad answer``, or ``None``.
    error: str | None
    seconds: float

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(
    destination: Destination,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,
    tls: ssl.SSLContext | None = None,
) -> Outcome:
    """POST ``body`` to ``destination``; never raises for anything the receiver does."""
    target = destination.target
    started = time.monotonic()
    connection = _connection(destination, timeout, tls)
    cut = threading.Event()
    timer = threading.Timer(timeout, _cut, args=(connection, cut))
    timer.daemon = True
    timer.start()
    try:
        connection.request(
            "POST",
            target.target,
            body=body,
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
        )
        answer = connection.getresponse()
        answer.read(MAX_ANSWER_BYTES)
        status: int | None = answer.status
        error = None
    except ssl.SSLError:
        status, error = None, "timeout" if cut.is_set() else "tls failed"
    except (OSError, http.client.HTTPException) as exc:
        status, error = None, "timeout" if cut.is_set() or _is_timeout(exc) else _failure(exc)
    finally:
        timer.cancel()
        connection.close()
    return Outcome(status, error, round(time.monotonic() - started, 3))


def _connection(
    destination: Destination, timeout: float, tls: ssl.SSLContext | None
) -> http.client.HTTPConnection:
    target = destination.target
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        context = tls or ssl.create_default_context()
        connection = http.client.HTTPSConnection(
            target.host, target.port, timeout=timeout, context=context
        )
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    address = destination.address

    def to_checked_address(
        _: tuple[str, int], timeout: float | None = None, source: Any = None
    ) -> socket.socket:
        return socket.create_connection((address, target.port), timeout, source)

    # http.client opens its socket through this attribute; the name stays for Host and TLS.
    connection._create_connection = to_checked_address  # type: ignore[attr-defined]
    return connection


def _cut(connection: http.client.HTTPConnection, cut: threading.Event) -> None:
    cut.set()
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked read at once, unlike close()


def _is_timeout(error: BaseException) -> bool:
    return isinstance(error, TimeoutError | socket.timeout)


def _failure(error: BaseException) -> str:
    if isinstance(error, http.client.HTTPException):
        return "bad answer"
    return "connection failed"
