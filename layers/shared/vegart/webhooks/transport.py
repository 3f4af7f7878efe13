"""One webhook attempt over HTTP/1.1: to the checked address, within its time, no redirects,
and delivered only on a whole answer.

Written on a socket rather than a client library, because each of these must hold for certain
and a library decides them otherwise:

- the socket connects to the :class:`~vegart.webhooks.targets.Destination`'s address, while
  ``Host`` and TLS (SNI and the certificate's name check) use the URL's host name;
- a redirect is an answer like any other (it is not followed, so it cannot lead elsewhere);
- the whole attempt, connect to the last byte read, is cut at its timeout by shutting the
  socket from a timer: a receiver that trickles a byte a second cannot hold a sender longer;
- an answer counts only when it is **whole** (docs/contract.md, "Webhooks"): its status line
  and header section complete, up to the empty line that ends them, and its body complete by
  its framing (all of ``Content-Length``, the chunked coding's last chunk and trailer
  section, or, with neither, the receiver closing the connection), or
  :data:`MAX_BODY_BYTES` of it read, after which the rest is left unread. ``http.client``
  takes a header section that ends at end of file for a whole one and returns what it got of
  a body read by size, so a 200 cut short after its status line counted as delivered.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import BinaryIO

from vegart.webhooks.targets import Destination

#: How much of an answer's body is read; a whole answer may be longer, and the rest is ignored.
MAX_BODY_BYTES = 64 * 1024
#: The longest status line, header line or chunk-size line an answer may have.
MAX_LINE_BYTES = 8 * 1024
#: The most header (or trailer) fields an answer may have.
MAX_FIELDS = 100
#: How much longer than an attempt's timeout its socket waits for a byte, at most.
BACKSTOP_SECONDS = 5.0
USER_AGENT = "VegaRT-Gateway-Webhooks/1"

TIMEOUT = "timeout"
CONNECTION_FAILED = "connection failed"
TLS_FAILED = "tls failed"
BAD_ANSWER = "bad answer"
INCOMPLETE_ANSWER = "incomplete answer"

_STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([1-9][0-9]{2})(?: [^\r\n]*)?\r?\n")
_FIELD_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\r\n]*?)[ \t]*\r?\n")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?\r?\n")
_BLANK = (b"\r\n", b"\n")


@dataclass(frozen=True)
class Outcome:
    """How an attempt went: the receiver's status, or what went wrong instead."""

    status: int | None
    #: :data:`TIMEOUT`, :data:`CONNECTION_FAILED`, :data:`TLS_FAILED`, :data:`BAD_ANSWER`,
    #: :data:`INCOMPLETE_ANSWER`, or ``None`` for a whole answer.
    error: str | None
    seconds: float

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Incomplete(Exception):
    """The answer stopped (end of file, a reset) before it was whole."""


class Malformed(Exception):
    """What came back is not an HTTP/1.x answer, or breaks its limits."""


def post(
    destination: Destination,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,
    tls: ssl.SSLContext | None = None,
) -> Outcome:
    """POST ``body`` to ``destination``; never raises for anything the receiver does."""
    started = time.monotonic()

    def outcome(status: int | None, error: str | None) -> Outcome:
        return Outcome(status, error, round(time.monotonic() - started, 3))

    target = destination.target
    try:
        raw = socket.create_connection((destination.address, target.port), timeout)
    except OSError as exc:
        return outcome(None, TIMEOUT if isinstance(exc, TimeoutError) else CONNECTION_FAILED)
    # The timer is what ends the attempt at its time; the socket's own timeout is only a
    # backstop, should the timer's thread be late to run on a busy machine.
    raw.settimeout(timeout + BACKSTOP_SECONDS)
    cutter = _Cutter(raw)
    timer = threading.Timer(max(0.0, timeout - (time.monotonic() - started)), cutter.cut)
    timer.daemon = True
    timer.start()
    sock = raw
    try:
        if target.scheme == "https":
            sock = (tls or ssl.create_default_context()).wrap_socket(
                raw, server_hostname=target.host
            )
        sock.sendall(_request(destination, body, headers))
        with sock.makefile("rb") as stream:
            status = read_answer(stream)
        # A body that runs to the connection's end ends at the cut too: not whole then.
        return outcome(None, TIMEOUT) if cutter.was_cut else outcome(status, None)
    except TimeoutError:
        return outcome(None, TIMEOUT)
    except Malformed:
        return outcome(None, TIMEOUT if cutter.was_cut else BAD_ANSWER)
    except ssl.SSLError:
        return outcome(None, TIMEOUT if cutter.was_cut else TLS_FAILED)
    except (Incomplete, OSError):
        return outcome(None, TIMEOUT if cutter.was_cut else INCOMPLETE_ANSWER)
    finally:
        cutter.stop()
        timer.cancel()
        sock.close()
        raw.close()


class _Cutter:
    """Shuts an attempt's connection when its time is up, whatever stage it is in.

    The shutdown goes to the connection's file descriptor through a duplicate of its own, so
    that it reaches the socket after TLS has taken it over (which detaches the original
    object) and never one that reused the number after the attempt closed it.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._fd = sock.fileno()
        self._lock = threading.Lock()
        self._stopped = False
        self.was_cut = False

    def cut(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self.was_cut = True
            with contextlib.suppress(OSError), socket.socket(fileno=os.dup(self._fd)) as twin:
                twin.shutdown(socket.SHUT_RDWR)  # wakes a blocked read at once, unlike close()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True


def _request(destination: Destination, body: bytes, headers: Mapping[str, str]) -> bytes:
    target = destination.target
    host = f"[{target.host}]" if ":" in target.host else target.host
    default_port = 443 if target.scheme == "https" else 80
    authority = host if target.port == default_port else f"{host}:{target.port}"
    fields = {
        "Host": authority,
        "User-Agent": USER_AGENT,
        "Content-Type": "application/json",
        **headers,
        "Content-Length": str(len(body)),
        "Connection": "close",
    }
    head = f"POST {target.target} HTTP/1.1\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in fields.items()) + "\r\n"
    return head.encode("latin-1") + body


def read_answer(stream: BinaryIO) -> int:
    """The status of the whole answer on ``stream`` (interim 1xx answers skipped).

    :class:`Incomplete` if it ends before it is whole, :class:`Malformed` if it is no HTTP/1.x
    answer. A body delimited by the connection's end is whole when the receiver closes it.
    """
    while True:
        status = _status(stream)
        fields = _fields(stream)
        if status >= 200:
            break
        if status == 101:
            raise Malformed("an upgrade is no answer to a POST")
    if status not in (204, 304):
        _body(stream, fields)
    return status


def _line(stream: BinaryIO) -> bytes:
    line = stream.readline(MAX_LINE_BYTES + 1)
    if len(line) > MAX_LINE_BYTES:
        raise Malformed("a line too long")
    if not line.endswith(b"\n"):
        raise Incomplete("the answer ended inside a line")
    return line


def _status(stream: BinaryIO) -> int:
    line = stream.readline(MAX_LINE_BYTES + 1)
    if not line.endswith(b"\n") and len(line) <= MAX_LINE_BYTES:
        # Nothing, or part of a status line: the receiver stopped before it answered.
        raise Incomplete("no status line")
    match = _STATUS_LINE.fullmatch(line)
    if match is None:
        raise Malformed("no HTTP/1.x status line")
    return int(match.group(1))


def _fields(stream: BinaryIO) -> dict[bytes, list[bytes]]:
    """A header (or trailer) section, up to the empty line that ends it."""
    fields: dict[bytes, list[bytes]] = {}
    for _ in range(MAX_FIELDS + 1):
        line = _line(stream)
        if line in _BLANK:
            return fields
        match = _FIELD_LINE.fullmatch(line)
        if match is None:
            raise Malformed("a header line that is no field")
        fields.setdefault(match.group(1).lower(), []).append(match.group(2))
    raise Malformed("too many header fields")


def _body(stream: BinaryIO, fields: dict[bytes, list[bytes]]) -> None:
    codings = b",".join(fields.get(b"transfer-encoding", []))
    if codings:
        if codings.split(b",")[-1].strip().lower() == b"chunked":
            _chunked(stream)
        else:
            _until_closed(stream)  # another coding last: the body runs to the connection's end
        return
    lengths = {value.strip() for value in fields.get(b"content-length", [])}
    if not lengths:
        _until_closed(stream)
        return
    if len(lengths) != 1 or not all(length.isdigit() for length in lengths):
        raise Malformed("a Content-Length that is no length")
    _exactly(stream, min(int(lengths.pop()), MAX_BODY_BYTES))


def _exactly(stream: BinaryIO, size: int) -> None:
    while size > 0:
        piece = stream.read(min(size, 16 * 1024))
        if not piece:
            raise Incomplete("the body ended before its length")
        size -= len(piece)


def _until_closed(stream: BinaryIO) -> None:
    read = 0
    while read < MAX_BODY_BYTES and (piece := stream.read(min(MAX_BODY_BYTES - read, 16 * 1024))):
        read += len(piece)


def _chunked(stream: BinaryIO) -> None:
    read = 0
    while read < MAX_BODY_BYTES:
        match = _CHUNK_SIZE.fullmatch(_line(stream))
        if match is None:
            raise Malformed("a chunk size that is no size")
        size = int(match.group(1), 16)
        if size == 0:
            _fields(stream)  # the trailer section, up to its empty line
            return
        wanted = min(size, MAX_BODY_BYTES - read)
        _exactly(stream, wanted)
        read += wanted
        if wanted == size and _line(stream) not in _BLANK:
            raise Malformed("a chunk longer than its size")
