"""A webhook receiver that answers in raw bytes, then stalls or hangs up where it is told.

What a whole answer is (docs/contract.md, "Webhooks") is tested against receivers no HTTP
server library would be: one that stops inside its status line, inside its headers, inside
its body or between two chunks, and either holds the connection open there (the sender's
timer must cut it) or closes it (the sender must not count what it got). Started on port 0
on loopback; each connection's request is read whole (its head and its ``Content-Length``
body) before the answer is played, and recorded.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Final, Literal

#: What a receiver does after its answer: hold the connection open until it stops, or close.
Then = Literal["stall", "close"]
STALL: Final = "stall"
CLOSE: Final = "close"


class RawReceiver:
    """Plays ``answer`` to every connection, then does ``then``."""

    def __init__(self, answer: bytes, then: Then = CLOSE) -> None:
        self.answer = answer
        self.then = then
        #: The raw requests received, one per connection.
        self.requests: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/raw"

    @classmethod
    @contextmanager
    def running(cls, answer: bytes, then: Then = CLOSE) -> Iterator[RawReceiver]:
        receiver = cls(answer, then)
        acceptor = threading.Thread(target=receiver._accept, daemon=True)
        acceptor.start()
        try:
            yield receiver
        finally:
            receiver._stop()
            acceptor.join(5)

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed: the receiver is stopping
            with self._lock:
                self._connections.append(connection)
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, connection: socket.socket) -> None:
        with suppress(OSError):
            request = _read_request(connection)
            with self._lock:
                self.requests.append(request)
            connection.sendall(self.answer)
            if self.then == STALL:
                self._stopping.wait()
        with suppress(OSError):
            connection.close()

    def _stop(self) -> None:
        self._stopping.set()
        with suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept (a close would not)
        with suppress(OSError):
            self._listener.close()
        with self._lock:
            for connection in self._connections:
                with suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(5)


def _read_request(connection: socket.socket) -> bytes:
    """A request's head and as much of its body as its ``Content-Length`` says."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = connection.recv(65536)
        if not piece:
            return data
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip() or b"0")
    while len(body) < length:
        piece = connection.recv(65536)
        if not piece:
            break
        body += piece
    return head + b"\r\n\r\n" + body
