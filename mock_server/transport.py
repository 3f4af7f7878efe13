"""The mock's transport: sockets, HTTP/1.1 framing, and playing a reply or a fault.

Everything Segmind would decide is in :mod:`mock_server.rules` and the admin API in
:mod:`mock_server.admin_api`; this module reads a request off a connection, hands it over,
journals what came and what went, and writes the :class:`~mock_server.rules.Reply` back (or
plays its fault on the connection).
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from . import admin_api, rules
from .contract import MAX_BODY_BYTES, MESSAGES, InvalidRequest
from .rules import Reply, Request
from .state import State

# After refusing an oversized body, read and drop at most this much so that the client sees
# the 400 instead of a reset, without ever holding the body.
_DRAIN_LIMIT = 1024 * 1024
_DRAIN_SECONDS = 2.0


class _BodyTooLarge(Exception):
    """The body exceeds its limit; it has not been read."""


def _json_or_none(raw: bytes) -> Any:
    """The body as JSON for the journal, or None when it is empty or not JSON at all.

    ``ValueError`` covers more than bad syntax: a 5,000-digit number passes the grammar but
    not Python's limit on integer digits. ``RecursionError`` is 30,000 nested brackets.
    """
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


class MockHttpServer(ThreadingHTTPServer):
    """A threaded HTTP server that knows its state and every connection it holds open."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], state: State, verbose: bool) -> None:
        self.state = state
        self.verbose = verbose
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, conn: socket.socket, *, open_: bool) -> None:
        """Remember an open connection so that :meth:`close_connections` can wake it.

        A handler that starts after :meth:`close_connections` took its list would otherwise
        sit in a keep-alive read for :attr:`_Handler.timeout` seconds, and ``server_close``
        joins every handler thread: it is shut at once instead, under the same lock.
        """
        with self._connections_lock:
            if not open_:
                self._connections.discard(conn)
            elif self.stopping.is_set():
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            else:
                self._connections.add(conn)

    def close_connections(self) -> None:
        """Wake every handler blocked on a kept-alive or hanging connection so it can end."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if self.verbose:
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The stdlib assumes HTTP/0.9 until a request line parses, and answers 0.9 without a status
    # line or headers: a garbled request line would get a bare JSON body that no client reads.
    default_request_version = "HTTP/1.0"
    server_version = "segmind-mock/1.0"
    sys_version = ""
    timeout = 120  # an idle kept-alive connection is closed after this many seconds
    # Head and body leave in one buffered write, with Nagle off: written apart, the body waits
    # for the client's delayed ACK of the head (40 ms on Linux), which caps a keep-alive client
    # at about 25 requests a second.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    server: MockHttpServer
    # The journal entry of the request being answered, settled by the first answer written.
    _entry: dict[str, Any] | None = None

    # connection life cycle

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, open_=True)

    def __getattr__(self, name: str) -> Any:
        """Every method token reaches :meth:`_dispatch`, so ``TRACE`` or ``FOO`` get Segmind's
        JSON 404 or 405 rather than the stdlib's 501, which no Segmind page documents."""
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def finish(self) -> None:
        # A fault may have closed the socket under us; there is nothing left to flush then.
        with contextlib.suppress(OSError):
            super().finish()
        self.server.track(self.connection, open_=False)

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, TimeoutError, OSError):
            # The client went away midway: nothing to answer, and nothing to fall over about.
            self.close_connection = True

    def version_string(self) -> str:
        """``segmind-mock/1.0``: the stdlib would add a space and Python's version."""
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer HTTP the stdlib cannot parse with the same JSON shape as everything else."""
        del explain
        self.close_connection = True
        self._send(Reply.error(code, message or "Bad request", {"Connection": "close"}))

    # dispatch

    def _dispatch(self) -> None:
        self._entry = None
        try:
            path = urlsplit(self.path).path
            if path.startswith(admin_api.PREFIX):
                self._admin(path)
            else:
                self._public(path)
        except OSError:
            # The client went away midway (reset, broken pipe, timeout): not a bug of the
            # mock, and nobody is left to answer. handle_one_request closes the connection.
            self._settle({"aborted": "client went away"})
            raise
        except Exception as exc:  # a bug in the mock must still answer, not drop the client
            print(f"segmind-mock: internal error: {exc!r}", file=sys.stderr)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self._send(Reply.error(500, MESSAGES[500], {"Connection": "close"}))

    def _public(self, path: str) -> None:
        state = self.server.state
        self._entry = entry = state.record(
            {
                "method": self.command,
                "path": self.path,
                "headers": dict(self.headers.items()),
                "body": None,
            }
        )
        try:
            raw = self._read_body(MAX_BODY_BYTES)
        except _BodyTooLarge:
            self.close_connection = True
            message = f"Request body is larger than {MAX_BODY_BYTES // 1024} KiB"
            base = {"x-request-id": state.request_id(), "Connection": "close"}
            self._send(Reply.error(400, message, base))
            self._drain_refused_body()
            return
        except InvalidRequest as exc:
            self.close_connection = True
            base = {"x-request-id": state.request_id(), "Connection": "close"}
            self._send(Reply.error(400, str(exc), base))
            return
        entry["body"] = _json_or_none(raw)
        headers = {name.lower(): value for name, value in self.headers.items()}
        self._play(rules.answer(state, Request(self.command, path, headers, raw)), raw)

    def _admin(self, path: str) -> None:
        try:
            raw = self._read_body(admin_api.BODY_LIMIT)
        except (_BodyTooLarge, InvalidRequest):
            self.close_connection = True
            message = "Admin request body is too large or malformed"
            self._send(Reply.error(400, message, {"Connection": "close"}))
            return
        self._send(admin_api.answer(self.server.state, self.command, path, raw))

    # reading

    def _read_body(self, limit: int) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked(limit)
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            return b""
        if not length_header.strip().isdigit() or not length_header.strip().isascii():
            raise InvalidRequest("Content-Length is not a number")
        length = int(length_header)
        if length > limit:
            raise _BodyTooLarge
        return self.rfile.read(length)

    def _skip_trailers(self) -> None:
        """Read the trailer fields after the last chunk up to the blank line; the mock uses
        none of them."""
        line = self.rfile.readline(1024)
        while line not in (b"\r\n", b"\n", b""):
            line = self.rfile.readline(1024)

    def _read_chunked(self, limit: int) -> bytes:
        parts: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(1024)
            size_field = line.split(b";")[0].strip()
            if not size_field or size_field.strip(b"0123456789abcdefABCDEF"):
                raise InvalidRequest("Malformed chunked body")  # "-1", "+5", "0x10" too
            chunk = int(size_field, 16)
            if chunk == 0:
                self._skip_trailers()
                return b"".join(parts)
            size += chunk
            if size > limit:
                raise _BodyTooLarge
            parts.append(self.rfile.read(chunk))
            self.rfile.readline(8)

    def _drain_refused_body(self) -> None:
        """Let the client finish sending so it reads our 400 rather than a connection reset."""
        self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(0.2)
            deadline = time.monotonic() + _DRAIN_SECONDS
            drained = 0
            while drained < _DRAIN_LIMIT and time.monotonic() < deadline:
                data = self.connection.recv(65536)
                if not data:
                    break
                drained += len(data)

    # writing

    def _play(self, reply: Reply, raw: bytes) -> None:
        """Wait the reply's delay (a stop cuts it short), then send it or play its fault."""
        if reply.delay_ms and self.server.stopping.wait(reply.delay_ms / 1000):
            if reply.on_abort is not None:
                reply.on_abort()  # nothing was answered, so nothing is charged
            self._settle({"aborted": "server stopped"})
            return
        if reply.fault is not None:
            # Settled before the fault: a hang never ends while the client waits.
            self._settle({"fault": reply.fault.value})
            self.close_connection = True
            reply.fault.apply(_HandlerLink(self), raw)
            return
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        """Settle the journal entry, then write the whole answer in one buffered write.

        The journal is settled first so that a test reading it the moment its client has the
        answer never finds the request still without an outcome.
        """
        self._settle({"status": reply.status})
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)
        self.wfile.flush()

    def _settle(self, outcome: dict[str, Any]) -> None:
        entry, self._entry = self._entry, None
        if entry is not None:
            self.server.state.settle(entry, outcome)


class _HandlerLink:
    """A handler's connection, lent to a fault (:class:`mock_server.faults.Link`)."""

    def __init__(self, handler: _Handler) -> None:
        self._handler = handler

    def send(self, data: bytes) -> None:
        self._handler.wfile.write(data)

    def close(self) -> None:
        handler = self._handler
        with contextlib.suppress(OSError):
            handler.wfile.flush()
        for stream in (handler.wfile, handler.rfile):
            with contextlib.suppress(OSError):
                stream.close()
        handler.connection.close()

    def reset(self) -> None:
        # Linger with a zero timeout turns close() into an abortive close: an RST, not a FIN.
        self._handler.connection.setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
        )
        self.close()

    def wait_for_hangup(self) -> None:
        conn = self._handler.connection
        while not self._handler.server.stopping.is_set():
            try:
                readable, _, _ = select.select([conn], [], [], 0.05)
                if readable and not conn.recv(1024, socket.MSG_PEEK):
                    return
                if readable:
                    conn.recv(1024)
            except (OSError, ValueError):
                return

    def random_bytes(self, count: int) -> bytes:
        return self._handler.server.state.random_bytes(count)
