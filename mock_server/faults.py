"""Transport faults: each one the way a real network or a broken upstream produces it.

A fault is played on a :class:`Link`, the connection as the transport lends it, so that what a
fault does to the bytes lives here and how bytes reach a socket lives in ``transport``.
"""

from __future__ import annotations

from enum import Enum
from typing import Protocol

from .jpeg import render_jpeg


class Link(Protocol):
    """What a fault may do to the connection of the request it answers."""

    def send(self, data: bytes) -> None:
        """Write raw bytes (no HTTP framing is added)."""

    def close(self) -> None:
        """End the connection with a FIN."""

    def reset(self) -> None:
        """End the connection with an RST."""

    def wait_for_hangup(self) -> None:
        """Return once the client has hung up or the server is stopping."""

    def random_bytes(self, count: int) -> bytes:
        """Bytes from the mock's seeded generator, so that a run repeats itself."""


class Fault(Enum):
    """A transport fault; ``Fault("hang")`` reads the name a test or ``Prefer`` gives."""

    CONNECTION_RESET = "connection_reset"  # an RST: "connection reset by peer"
    EMPTY_RESPONSE = "empty_response"  # a FIN before a single byte
    TRUNCATED_BODY = "truncated_body"  # a 200 whose JPEG stops halfway, short of its length
    GARBAGE_THEN_CLOSE = "garbage_then_close"  # bytes that are not HTTP, then a FIN
    HANG = "hang"  # nothing at all until the client gives up or the server stops

    def apply(self, link: Link, request_body: bytes) -> None:
        """Play this fault as the answer to a request whose body was ``request_body``."""
        if self is Fault.CONNECTION_RESET:
            link.reset()
            return
        if self is Fault.TRUNCATED_BODY:
            image = render_jpeg(f"truncated:{request_body[:64]!r}", 0, 4)
            head = (
                "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n"
                f"Content-Length: {len(image)}\r\n\r\n"
            )
            link.send(head.encode() + image[: len(image) // 2])
        elif self is Fault.GARBAGE_THEN_CLOSE:
            link.send(b"\x00\x17SEGMIND?" + link.random_bytes(48) + b"\r\n\r\n")
        elif self is Fault.HANG:
            link.wait_for_hangup()
        link.close()


#: Every fault's name, as tests and the admin API spell them.
FAULTS = frozenset(fault.value for fault in Fault)
