"""The local API's HTTP front door, over real sockets, with a recording API behind it.

What API Gateway's front end guarantees and the standard library's server does not: bodies
framed one way only, malformed HTTP answered in the contract's JSON shape (or closed), idle
connections closed, methods matched case-sensitively. The API behind the door only records
what reached it, so that each test sees exactly what the framing delivered.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from devkit.raw_http import answers, exchange
from local_stack.http_front import serve
from local_stack.rest_api import MAX_PAYLOAD, Answer

ROUTE = b"/v1/segmind-vega-rt-v1"


@dataclass
class RecordingApi:
    """Answers 200 with what it received; the refusals as the real API shapes them."""

    received: list[tuple[str, str, bytes]] = field(default_factory=list)

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        self.received.append((method, target, body))
        return Answer(200, [("Content-Type", "application/json")], json.dumps(
            {"method": method, "length": len(body)}
        ).encode())  # fmt: skip

    def refuse(self, name: str, headers: dict[str, str]) -> Answer:
        return self._error(404, "Not found")

    def gateway_response(self, name: str, headers: dict[str, str]) -> Answer:
        return self._error(413, "Request too large")

    def front_door_error(self, status: int, message: str) -> Answer:
        return self._error(status, message)

    @staticmethod
    def _error(status: int, message: str) -> Answer:
        headers = [("Content-Type", "application/json"), ("Access-Control-Allow-Origin", "*")]
        return Answer(status, headers, json.dumps({"error": message}).encode())


@pytest.fixture
def front() -> Iterator[tuple[RecordingApi, int]]:
    api = RecordingApi()
    server = serve(api, port=0, idle_seconds=0.5)  # type: ignore[arg-type]
    try:
        yield api, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def post(body: bytes, *extra: bytes) -> bytes:
    headers = b"".join(line + b"\r\n" for line in extra)
    return b"POST " + ROUTE + b" HTTP/1.1\r\nHost: local\r\n" + headers + b"\r\n" + body


def assert_contract_error(answer: tuple[int, dict[str, str], bytes], status: int) -> None:
    got, headers, body = answer
    assert got == status
    assert headers["content-type"] == "application/json"
    assert headers["access-control-allow-origin"] == "*"
    document = json.loads(body)
    assert set(document) == {"error"} and document["error"]


def test_a_chunked_body_is_read_as_the_body_not_as_a_request(front: Any) -> None:
    api, port = front
    chunked = post(b"5\r\n{\"pro\r\n8;ext=1\r\nmpt\": 1}\r\n0\r\nTrailer: x\r\n\r\n",
                   b"Transfer-Encoding: chunked")  # fmt: skip
    (answer,) = answers(exchange(port, chunked))
    assert answer[0] == 200
    assert api.received == [("POST", ROUTE.decode(), b'{"prompt": 1}')]


def test_pipelined_requests_are_each_framed_by_their_own_length(front: Any) -> None:
    api, port = front
    first = post(b'{"a": 1}', b"Content-Length: 8")
    second = post(b"{}", b"Content-Length: 2")
    assert [a[0] for a in answers(exchange(port, first + second))] == [200, 200]
    assert [body for _, _, body in api.received] == [b'{"a": 1}', b"{}"]


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (post(b"{}", b"Content-Length: abc"), 400),
        (post(b"{}", b"Content-Length: -1"), 400),
        (post(b"{}", b"Content-Length: +2"), 400),
        (post(b"{}", b"Content-Length: 2", b"Content-Length: 3"), 400),
        (post(b"0\r\n\r\n", b"Content-Length: 5", b"Transfer-Encoding: chunked"), 400),
        (post(b"{}", b"Transfer-Encoding: gzip"), 501),
        (post(b"zz\r\n{}\r\n0\r\n\r\n", b"Transfer-Encoding: chunked"), 400),
        (post(b"-1\r\n{}\r\n0\r\n\r\n", b"Transfer-Encoding: chunked"), 400),
        (post(b"2\r\n{}XX0\r\n\r\n", b"Transfer-Encoding: chunked"), 400),
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\n\r\n", 505),
        (b"GET / HTTP/0.9\r\n\r\n", 505),
        (b"GET /\r\n\r\n", 505),
        (b"G<T / HTTP/1.1\r\n\r\n", 400),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\n" + b"".join(b"X%d: 1\r\n" % i for i in range(200)) + b"\r\n", 431),
        (post(b"", f"Content-Length: {MAX_PAYLOAD + 1}".encode()), 413),
    ],
    ids=[
        "length-not-a-number", "length-negative", "length-signed", "two-lengths",
        "length-and-chunked", "unknown-coding", "chunk-size-not-hex", "chunk-size-negative",
        "chunk-without-crlf", "garbage-line", "http-2", "http-0.9", "no-version",
        "bad-method-token", "url-too-long", "header-too-long", "too-many-headers",
        "over-10-mb",
    ],
)  # fmt: skip
def test_framing_it_cannot_trust_is_refused_in_the_contracts_shape_then_closed(
    front: Any, request_bytes: bytes, status: int
) -> None:
    api, port = front
    # A valid request after the bad one on the same connection is never read as its body.
    raw = exchange(port, request_bytes + post(b"{}", b"Content-Length: 2"))
    (answer,) = answers(raw)
    assert_contract_error(answer, status)
    assert answer[1].get("connection") == "close"
    assert api.received == []


def test_methods_are_case_sensitive(front: Any) -> None:
    api, port = front
    (answer,) = answers(exchange(port, b"post " + post(b"{}", b"Content-Length: 2")[5:]))
    assert_contract_error(answer, 404)
    assert api.received == []


def test_an_idle_connection_is_closed(front: Any) -> None:
    """Half a request and then silence: the server gives up on it rather than wait forever."""
    _, port = front
    assert exchange(port, b"POST " + ROUTE + b" HTTP/1.1\r\nHost: loc", half_close=False) == b""
    assert exchange(port, post(b"{}", b"Content-Length: 2", b"Connection: close")).startswith(
        b"HTTP/1.1 200"
    )


def test_a_body_shorter_than_its_length_is_no_request(front: Any) -> None:
    api, port = front
    assert exchange(port, post(b"{}", b"Content-Length: 50")) == b""
    assert api.received == []
