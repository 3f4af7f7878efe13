"""A webhook receiver on loopback that records what it is sent and answers as it is told.

For the tests, the benchmarks and anyone trying webhooks against ``make run``: started on
port 0 in process (like the mock Segmind), each request recorded whole (headers and raw body,
which a signature check needs), each answer taken from a script (a status, or ``"hang"`` to
hold the connection open until the receiver stops), the last one repeating.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .loopback_server import serving

HANG = "hang"


@dataclass(frozen=True)
class Delivery:
    """One request as the receiver got it."""

    path: str
    headers: dict[str, str]
    body: bytes


class WebhookReceiver:
    """The receiver; :meth:`running` starts it and stops it."""

    def __init__(
        self, answers: Sequence[int | str] = (204,), tls: ssl.SSLContext | None = None
    ) -> None:
        """``tls``, a server context, makes it an ``https`` receiver."""
        self.answers = list(answers) or [204]
        self.scheme = "https" if tls else "http"
        self.deliveries: list[Delivery] = []
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self.scheme}://{host!s}:{port}/hooks/vegart"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @classmethod
    @contextmanager
    def running(
        cls, answers: Sequence[int | str] = (204,), tls: ssl.SSLContext | None = None
    ) -> Iterator[WebhookReceiver]:
        receiver = cls(answers, tls)
        with serving(receiver._server, before_stop=receiver._stopping.set):
            yield receiver

    def wait_for(self, count: int, timeout: float = 60.0) -> list[Delivery]:
        """The first ``count`` deliveries, once they have come (``TimeoutError`` if not)."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.deliveries) >= count, timeout):
                raise TimeoutError(f"{len(self.deliveries)} of {count} deliveries came")
            return self.deliveries[:count]

    def _answer_for(self, number: int) -> int | str:
        return self.answers[min(number, len(self.answers) - 1)]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                delivery = Delivery(
                    self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                with receiver._changed:
                    number = len(receiver.deliveries)
                    receiver.deliveries.append(delivery)
                    receiver._changed.notify_all()
                answer = receiver._answer_for(number)
                if answer == HANG:
                    receiver._stopping.wait()  # held open: the sender must cut it
                    return
                self.send_response(int(answer))
                if 300 <= int(answer) < 400:
                    self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                """Nothing on stderr: :attr:`WebhookReceiver.deliveries` is the record."""

        return Handler
