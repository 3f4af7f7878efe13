"""The local API's front door: HTTP/1.1 on a socket, framed and refused as API Gateway's is.

:class:`~local_stack.rest_api.LocalRestApi` decides what a request means; this module decides what
bytes are a request. It stands where API Gateway's own HTTP front end stands, so whatever a
client sends gets what the contract promises: an answer in the contract's shape (JSON
``{"error"}``, a fitting status, ``Access-Control-Allow-Origin``) or a clean close, never the
standard library's HTML page, a traceback or a thread left waiting:

- a body is framed by ``Content-Length`` (digits only) or ``Transfer-Encoding: chunked``, never
  both; anything else about the framing is a 400 and the connection closes, so that no body is
  read as the next request;
- a request line or header the standard library cannot parse, an HTTP version other than 1.0
  and 1.1, a URL or header too large: a 400, 505, 414 or 431, then close;
- methods are case-sensitive (RFC 9110): ``post`` is not ``POST``, and is routed as no method;
- a connection idle past :data:`IDLE_SECONDS` is closed, and every read waits at most that long.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .console import AccessRecord
from .rest_api import MAX_PAYLOAD, Answer, LocalRestApi

log = logging.getLogger("local_stack")
#: How long a connection may sit without sending a byte before it is closed.
IDLE_SECONDS = 60.0
#: A method is a token of letters (RFC 9110 allows more, but nothing API Gateway routes).
_METHOD = re.compile(r"[A-Za-z]+")
_VERSIONS = ("HTTP/1.0", "HTTP/1.1")
#: How long a refused client gets to stop sending, and how long each read of it may wait.
_LINGER_SECONDS = 2.0
_LINGER_READ_SECONDS = 0.5
#: The reasons a person reads for the errors of the HTTP layer itself.
_FRONT_DOOR_ERRORS = {
    400: "Bad request",
    408: "Request timeout",
    413: "Request entity too large",
    414: "Request URI too long",
    431: "Request header fields too large",
    501: "Not implemented",
    505: "HTTP version not supported",
}


class _Refused(Exception):
    """A request whose framing cannot be trusted: answered with ``status``, then closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The stdlib assumes HTTP/0.9 until a request line parses, and answers 0.9 without a
    # status line or headers: a garbled request line would get a bare body no client reads.
    default_request_version = "HTTP/1.0"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.idle_seconds)  # every read, headers included

    def version_string(self) -> str:
        return "vegart-local"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, TimeoutError, OSError):
            # The client went away, or sat idle too long: nothing to answer; close.
            self.close_connection = True

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        # Two words ("GET /") is an HTTP/0.9 request, which the stdlib would answer as 1.0.
        if len(self.requestline.split()) != 3 or self.request_version not in _VERSIONS:
            self.request_version = "HTTP/1.0"  # answer in a version the client can read
            self.send_error(505)
            return False
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """What the standard library answers as an HTML page, in the contract's JSON shape."""
        del message, explain  # the stdlib's wording names its internals
        self.close_connection = True
        self._write(self.server.api.front_door_error(code, _FRONT_DOOR_ERRORS.get(code, "Error")))
        self._linger()

    def __getattr__(self, name: str) -> Any:
        # Every method reaches the API, as at API Gateway (an ANY route takes them all).
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _serve(self) -> None:
        started, clock = time.time(), time.perf_counter()
        answer = self._respond()
        if answer is None:
            return
        if self.server.access_log is not None:
            self.server.access_log(
                AccessRecord(
                    time=started,
                    method=self.command,
                    path=urlsplit(self.path).path,
                    status=answer.status,
                    cache=answer.header("x-cache"),
                    millis=(time.perf_counter() - clock) * 1000,
                    request_id=answer.header("x-amzn-RequestId"),
                )
            )

    def _respond(self) -> Answer | None:
        api = self.server.api
        try:
            if not _METHOD.fullmatch(self.command):
                raise _Refused(400, _FRONT_DOOR_ERRORS[400])
            body = self._read_body()
        except _Refused as refused:
            self.close_connection = True
            self._write(api.front_door_error(refused.status, refused.message))
            self._linger()
            return None
        except _TooLarge:
            self.close_connection = True
            self._write(api.gateway_response("REQUEST_TOO_LARGE", {}))
            self._linger()
            return None
        except _ClientGone:
            self.close_connection = True
            return None
        else:
            headers = {name.lower(): value for name, value in self.headers.items()}
            if self.command.isupper():
                answer = api.handle(self.command, self.path, headers, body)
            else:  # methods are case-sensitive: "post" is no method API Gateway routes
                answer = api.refuse("MISSING_AUTHENTICATION_TOKEN", headers)
        self._write(answer)
        return answer

    def _write(self, answer: Answer) -> None:
        self.send_response(answer.status)
        for name, value in answer.headers:
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    def _linger(self) -> None:
        """Close as servers should after refusing a request the client may still be sending:
        stop writing, read (and drop) what is in flight for a moment, then close, so that the
        client reads the refusal rather than a connection reset."""
        with contextlib.suppress(OSError):
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(_LINGER_READ_SECONDS)
            give_up = time.monotonic() + _LINGER_SECONDS
            drained = 0
            while drained < MAX_PAYLOAD and time.monotonic() < give_up:
                data = self.connection.recv(65536)
                if not data:
                    break
                drained += len(data)

    def _read_body(self) -> bytes:
        lengths = self.headers.get_all("Content-Length") or []
        encodings = self.headers.get_all("Transfer-Encoding") or []
        if encodings:
            if lengths:
                raise _Refused(400, "Bad request: both Content-Length and Transfer-Encoding")
            if [value.strip().lower() for value in encodings] != ["chunked"]:
                raise _Refused(501, "Not implemented: only chunked transfer coding is supported")
            return self._read_chunked()
        if not lengths:
            return b""
        values = {value.strip() for value in lengths}
        (text,) = values if len(values) == 1 else ("",)
        if not (text.isascii() and text.isdigit()):
            raise _Refused(400, "Bad request: Content-Length is not a length")
        length = int(text)
        if length > MAX_PAYLOAD:
            raise _TooLarge
        return self._read_exactly(length)

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(1024)
            if not line:
                raise _ClientGone
            field = line.split(b";")[0].strip()
            if not field or len(field) > 8 or field.strip(b"0123456789abcdefABCDEF"):
                raise _Refused(400, "Bad request: malformed chunked body")
            chunk = int(field, 16)
            if chunk == 0:
                for _ in range(64):  # trailers, bounded
                    if self.rfile.readline(1024) in (b"\r\n", b"\n", b""):
                        return b"".join(parts)
                raise _Refused(400, "Bad request: malformed chunked body")
            size += chunk
            if size > MAX_PAYLOAD:
                raise _TooLarge
            parts.append(self._read_exactly(chunk))
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise _Refused(400, "Bad request: malformed chunked body")

    def _read_exactly(self, length: int) -> bytes:
        data = self.rfile.read(length) if length else b""
        if len(data) < length:
            raise _ClientGone
        return data


class _TooLarge(Exception):
    """A body past API Gateway's 10 MB payload limit."""


class _ClientGone(Exception):
    """The client closed its side before the request was whole."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    #: socketserver's default backlog of 5 resets a burst of browsers or load-test clients.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        api: LocalRestApi,
        access_log: Callable[[AccessRecord], None] | None,
        idle_seconds: float,
    ) -> None:
        self.api = api
        self.access_log = access_log
        self.idle_seconds = idle_seconds
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A fault of this front door must not print a traceback in the person's console.
        log.warning("local API: connection from %s failed", client_address[0], exc_info=True)

    def server_close(self) -> None:
        with contextlib.suppress(OSError):
            super().server_close()


def serve(
    api: LocalRestApi,
    host: str = "127.0.0.1",
    port: int = 3000,
    *,
    access_log: Callable[[AccessRecord], None] | None = None,
    idle_seconds: float = IDLE_SECONDS,
) -> _Server:
    """Start answering on ``host:port`` in a background thread; the server (``.shutdown()``).

    ``access_log`` gets a record of every answered request. Binding fails with ``OSError``.
    """
    server = _Server((host, port), api, access_log, idle_seconds)
    # Its loop looks for a shutdown every 50 ms (the default, half a second, is what each stop
    # would wait).
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="local-api", daemon=True
    ).start()
    return server


__all__ = ["IDLE_SECONDS", "serve"]
