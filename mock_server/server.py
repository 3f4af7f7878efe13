"""The HTTP side of the mock: a threaded server that plays Segmind, faults included."""

from __future__ import annotations

import base64
import contextlib
import json
import math
import select
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

from .behaviours import BadBehaviour, Behaviour, parse_entry, parse_prefer
from .contract import (
    MAX_BODY_BYTES,
    MESSAGES,
    MISSING_KEY_MESSAGE,
    MODEL_SLUG,
    InvalidRequest,
    RenderRequest,
    parse_render_request,
)
from .jpeg import render_jpeg
from .state import Options, State

#: The key a mock accepts when it is given none, so that a bare ``python -m mock_server`` works.
DEFAULT_API_KEY = "sg-mock-key"
ROUTE = f"/v1/{MODEL_SLUG}"
ADMIN_PREFIX = "/__admin/"
_ADMIN_BODY_LIMIT = 1024 * 1024
# After refusing an oversized body, read and drop at most this much so that the client sees
# the 400 instead of a reset, without ever holding the body.
_DRAIN_LIMIT = 1024 * 1024
_DRAIN_SECONDS = 2.0


class _BodyTooLarge(Exception):
    """The body exceeds its limit; it has not been read."""


@dataclass(frozen=True)
class _Refusal:
    """An error answer decided before any render: its status, message and extra headers."""

    status: int
    message: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


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


def _utc(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class _Server(ThreadingHTTPServer):
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
    server: _Server
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
        self._answer(code, {"error": message or "Bad request"}, {"Connection": "close"})

    # dispatch

    def _dispatch(self) -> None:
        self._entry = None
        try:
            path = urlsplit(self.path).path
            if path.startswith(ADMIN_PREFIX):
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
                self._answer(500, {"error": MESSAGES[500]}, {"Connection": "close"})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

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
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
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

    def _answer(
        self,
        status: int,
        body: bytes | dict[str, Any],
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        """Settle the journal entry, then write the whole answer in one buffered write.

        The journal is settled first so that a test reading it the moment its client has the
        answer never finds the request still without an outcome.
        """
        self._settle({"status": status})
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        self.wfile.flush()

    def _settle(self, outcome: dict[str, Any]) -> None:
        entry, self._entry = self._entry, None
        if entry is not None:
            self.server.state.settle(entry, outcome)

    def _error(
        self, status: int, message: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        self._answer(status, {"error": message or MESSAGES[status]}, headers)

    def _json_ok(self, body: dict[str, Any]) -> None:
        self._answer(200, body)

    # the public side: Segmind's route

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
        base = {"x-request-id": state.request_id()}
        try:
            raw = self._read_body(MAX_BODY_BYTES)
        except _BodyTooLarge:
            self.close_connection = True
            self._error(
                400,
                f"Request body is larger than {MAX_BODY_BYTES // 1024} KiB",
                {**base, "Connection": "close"},
            )
            self._drain_refused_body()
            return
        except InvalidRequest as exc:
            self.close_connection = True
            self._error(400, str(exc), {**base, "Connection": "close"})
            return
        entry["body"] = _json_or_none(raw)

        if path != ROUTE:
            self._error(404, MESSAGES[404] if path.startswith("/v1/") else "Not found", base)
        elif self.command != "POST":
            self._error(405, "Method not allowed", {**base, "Allow": "POST"})
        else:
            self._route(raw, base)

    def _route(self, raw: bytes, base: dict[str, str]) -> None:
        """Play what ``Prefer`` or the queue asks for, else answer as Segmind would."""
        try:
            behaviour = parse_prefer(self.headers.get("Prefer"))
        except BadBehaviour as exc:
            self._error(400, f"Prefer header: {exc}", base)
            return
        if behaviour is None:
            behaviour = self.server.state.next_behaviour()
        if behaviour is not None:
            if behaviour.delay_ms and self.server.stopping.wait(behaviour.delay_ms / 1000):
                self._settle({"aborted": "server stopped"})
                return
            if behaviour.fault is not None:
                # Settled before the fault: a hang never ends while the client waits.
                self._settle({"fault": behaviour.fault})
                self._fault(behaviour.fault, raw)
                return
            if behaviour.status is not None and behaviour.status != 200:
                self._forced(behaviour, base)
                return
        self._render(raw, base)

    def _rate_headers(self, reset_at: float) -> dict[str, str]:
        headers = {"x-rate-limit-reset-at-utc": _utc(reset_at)}
        if self.server.state.options.retry_after:
            wait = max(1, math.ceil(reset_at - self.server.state.now()))
            headers["Retry-After"] = str(wait)
        return headers

    def _forced(self, behaviour: Behaviour, base: dict[str, str]) -> None:
        status = behaviour.status
        assert status is not None
        headers = dict(base)
        if status == 429:
            # A forced limit ends within a second, so that "429, 429, then 200" stays retryable.
            headers.update(self._rate_headers(math.floor(self.server.state.now()) + 1))
        headers.update(behaviour.headers)
        self._error(status, None, headers)

    def _admit(self, key: str | None, raw: bytes) -> RenderRequest | _Refusal:
        """Segmind's checks before a render, in its order: key, rate, then the body."""
        state = self.server.state
        match state.key_status(key):
            case "missing":
                return _Refusal(401, MISSING_KEY_MESSAGE)
            case "unknown":
                return _Refusal(401)
            case "disabled":
                return _Refusal(403)
        assert key is not None
        decision = state.count_request(key)
        if not decision.allowed:
            return _Refusal(429, headers=self._rate_headers(decision.reset_at))
        try:
            return parse_render_request(raw)
        except InvalidRequest as exc:
            return _Refusal(400, str(exc))

    def _render(self, raw: bytes, base: dict[str, str]) -> None:
        """The normal answer: the checks, a credit, then the image."""
        state = self.server.state
        key = self.headers.get("x-api-key")
        request = self._admit(key, raw)
        if isinstance(request, _Refusal):
            self._error(request.status, request.message, {**base, **request.headers})
            return
        assert key is not None
        seed = request.seed if request.seed != -1 else state.pick_seed()
        left = state.take_credit(key)
        if left is None:
            self._error(406, None, base)
            return
        started = time.perf_counter()
        latency = state.options.latency_ms
        if latency and self.server.stopping.wait(latency / 1000):
            state.refund_credit(key)  # nothing was answered, so nothing is charged
            self._settle({"aborted": "server stopped"})
            return
        image = render_jpeg(request.prompt, seed, request.steps)
        headers = {
            **base,
            "x-seed-value": str(seed),
            "x-remaining-credits": str(left),
            "x-generation-time": f"{time.perf_counter() - started:.3f}",
        }
        if request.base64:
            self._answer(200, {"image": base64.b64encode(image).decode()}, headers)
        else:
            self._answer(200, image, headers, content_type="image/jpeg")

    # transport faults

    def _fault(self, fault: str, raw: bytes) -> None:
        self.close_connection = True
        conn = self.connection
        if fault == "connection_reset":
            # Linger with a zero timeout turns close() into an abortive close: an RST, not a FIN.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self._close_now()
        elif fault == "empty_response":
            self._close_now()
        elif fault == "truncated_body":
            image = render_jpeg(f"truncated:{raw[:64]!r}", 0, 4)
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(image)))
            self.end_headers()
            self.wfile.write(image[: len(image) // 2])
            self._close_now()
        elif fault == "garbage_then_close":
            self.wfile.write(b"\x00\x17SEGMIND?" + self.server.state.random_bytes(48) + b"\r\n\r\n")
            self._close_now()
        elif fault == "hang":
            self._hang()

    def _close_now(self) -> None:
        with contextlib.suppress(OSError):
            self.wfile.flush()
        for stream in (self.wfile, self.rfile):
            with contextlib.suppress(OSError):
                stream.close()
        self.connection.close()

    def _hang(self) -> None:
        """Say nothing until the client hangs up or the server stops."""
        conn = self.connection
        while not self.server.stopping.is_set():
            try:
                readable, _, _ = select.select([conn], [], [], 0.05)
                if readable and not conn.recv(1024, socket.MSG_PEEK):
                    break
                if readable:
                    conn.recv(1024)
            except (OSError, ValueError):
                break
        self._close_now()

    # the admin side, after WireMock's

    def _admin(self, path: str) -> None:
        state = self.server.state
        route = (self.command, path.removeprefix(ADMIN_PREFIX).rstrip("/"))
        try:
            raw = self._read_body(_ADMIN_BODY_LIMIT)
        except (_BodyTooLarge, InvalidRequest):
            self.close_connection = True
            self._error(
                400, "Admin request body is too large or malformed", {"Connection": "close"}
            )
            return
        if route == ("GET", "requests"):
            self._json_ok({"requests": state.journal()})
        elif route == ("DELETE", "requests"):
            state.clear_journal()
            self._json_ok({"cleared": True})
        elif route == ("POST", "enqueue"):
            self._enqueue(raw)
        elif route == ("GET", "queue"):
            self._json_ok({"responses": state.queued()})
        elif route == ("POST", "reset"):
            state.reset()
            self._json_ok({"reset": True})
        elif route == ("GET", "credits"):
            self._json_ok({"credits": state.credits()})
        elif route == ("GET", "health"):
            self._json_ok({"status": "ok"})
        else:
            self._error(404, f"No admin route {self.command} {path}")

    def _enqueue(self, raw: bytes) -> None:
        try:
            document = json.loads(raw or b"null")
        except (ValueError, RecursionError):
            self._error(400, "Body is not valid JSON")
            return
        if not isinstance(document, dict) or not isinstance(document.get("responses"), list):
            self._error(400, 'Body must be {"responses": [...]}')
            return
        try:
            behaviours = [b for entry in document["responses"] for b in parse_entry(entry)]
        except BadBehaviour as exc:
            self._error(400, str(exc))
            return
        self._json_ok({"queued": self.server.state.enqueue(behaviours)})


class MockSegmind:
    """A Segmind v1 look-alike on a real socket, for tests and for local runs.

    Start it on port 0 and read :attr:`url`, as with moto's ``ThreadedMotoServer``::

        with MockSegmind(credits=10) as segmind:
            requests.post(segmind.endpoint, json={...}, headers={"x-api-key": segmind.api_key})
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_keys: tuple[str, ...] = (DEFAULT_API_KEY,),
        disabled_keys: tuple[str, ...] = (),
        credits: int = 1_000_000,
        rate_limit: int | None = None,
        retry_after: bool = False,
        latency_ms: int = 0,
        seed: int | None = None,
        verbose: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.options = Options(
            api_keys=tuple(api_keys) or (DEFAULT_API_KEY,),
            disabled_keys=tuple(disabled_keys),
            credits=credits,
            rate_limit=rate_limit,
            retry_after=retry_after,
            latency_ms=latency_ms,
            seed=seed,
        )
        self.state = State(self.options, clock)
        self._address = (host, port)
        self._verbose = verbose
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # life cycle

    def start(self) -> Self:
        """Bind and serve on a background thread; returns at once, ready for requests."""
        if self._server is not None:
            return self
        self._server = _Server(self._address, self.state, self._verbose)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"segmind-mock:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on the calling thread until :meth:`stop` is called from another one."""
        if self._server is None:
            self._server = _Server(self._address, self.state, self._verbose)
        self._server.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        """Stop serving, end hanging and kept-alive connections, and free the port."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @classmethod
    def fixture(cls, **options: Any) -> Callable[[], Iterator[MockSegmind]]:
        """A generator function to hand to ``pytest.fixture``, without importing pytest here.

        ``segmind = pytest.fixture(MockSegmind.fixture(rate_limit=5))`` in a conftest gives
        each test a fresh server.
        """

        def _fixture() -> Iterator[MockSegmind]:
            with cls(**options) as mock:
                yield mock

        return _fixture

    # where it listens

    @property
    def port(self) -> int:
        if self._server is None:
            return self._address[1]
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL, such as ``http://127.0.0.1:4010``."""
        host = self._address[0]
        return f"http://{host if ':' not in host else f'[{host}]'}:{self.port}"

    @property
    def base_url(self) -> str:
        """What Segmind's SDK calls ``base_url``: the URL up to ``/v1``."""
        return f"{self.url}/v1"

    @property
    def endpoint(self) -> str:
        """The model's route, the URL a client posts renders to."""
        return f"{self.url}{ROUTE}"

    @property
    def api_key(self) -> str:
        """The first accepted key."""
        return self.options.api_keys[0]

    # the admin API, in process

    def enqueue(self, *entries: dict[str, Any]) -> int:
        """Script the next render answers; entries as for ``POST /__admin/enqueue``."""
        return self.state.enqueue(b for entry in entries for b in parse_entry(entry))

    def queued(self) -> list[dict[str, Any]]:
        """What is still scripted, next first (as ``GET /__admin/queue`` lists it)."""
        return self.state.queued()

    def requests(self) -> list[dict[str, Any]]:
        """The journal: every public request received, oldest first, with its outcome."""
        return self.state.journal()

    def wait_for_requests(
        self, count: int = 1, *, settled: bool = True, timeout: float = 30.0
    ) -> list[dict[str, Any]]:
        """The journal once ``count`` requests have arrived (and been answered, if ``settled``).

        For tests whose client runs on another thread or in another process: wait for the
        condition instead of sleeping. :class:`TimeoutError` after ``timeout`` seconds.
        """
        journal = self.state.wait_for_journal(count, settled=settled, timeout=timeout)
        if journal is None:
            seen = self.state.journal()
            answered = sum("outcome" in entry for entry in seen)
            raise TimeoutError(
                f"the mock received {len(seen)} requests ({answered} answered) in {timeout} s; "
                f"waited for {count}{' answered' if settled else ''}"
            )
        return journal

    def reset(self) -> None:
        """Clear the queue, the journal and the rate windows, and refill the credits."""
        self.state.reset()

    def clear_journal(self) -> None:
        """Forget the requests received but keep the queue, credits and rate windows."""
        self.state.clear_journal()

    def credits(self) -> dict[str, int]:
        """Each key's remaining credits."""
        return self.state.credits()
