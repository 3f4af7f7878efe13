"""The local stack's HTTP front fuzzed at the byte level: every connection gets a contract
answer or a clean close, and the stack goes on serving.

Bounded in count (Hypothesis examples: 100 in ``make test``, 400 in ``make soak``) and in
time (each connection has a guard timeout, and half-closes after sending so that nothing waits
for bytes that will not come). Inputs: random
bytes; a valid render request with bytes flipped, inserted or removed; requests with huge or
many headers; requests cut off anywhere; requests sent in many small writes.
"""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devkit.raw_http import GUARD_SECONDS, answers, exchange
from devkit.stack_process import RunningStack
from tests.helpers.tiers import sizes


def fuzzing(examples: int) -> settings:
    return settings(
        max_examples=examples,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def valid_request(key: str) -> bytes:
    body = json.dumps({"prompt": "a lighthouse, fuzzed", "seed": 11}).encode()
    return (
        b"POST /v1/segmind-vega-rt-v1 HTTP/1.1\r\nHost: local\r\nx-api-key: "
        + key.encode()
        + b"\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


def port_of(stack: RunningStack) -> int:
    port = urlsplit(stack.url).port
    assert port is not None
    return port


@st.composite
def mutated(draw: st.DrawFn, request: bytes) -> bytes:
    data = bytearray(request)
    for _ in range(draw(st.integers(1, 6))):
        where = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "insert", "delete"]))
        byte = (
            draw(st.sampled_from([0, 10, 13, 32, 58, 255, *range(48, 58)]))
            if draw(st.booleans())
            else draw(st.integers(0, 255))
        )
        if action == "insert" or where == len(data):
            data[where:where] = bytes([byte])
        elif action == "flip":
            data[where] = byte
        else:
            del data[where]
    return bytes(data)


def hostile(key: str) -> st.SearchStrategy[bytes]:
    request = valid_request(key)
    head, _, body = request.partition(b"\r\n\r\n")
    return st.one_of(
        st.binary(max_size=2048),
        mutated(request),
        st.integers(0, len(request)).map(lambda cut: request[:cut]),
        st.integers(1, 200).map(
            lambda n: head + b"".join(b"\r\nX-Pad-%d: %s" % (i, b"v" * 50) for i in range(n))
            + b"\r\n\r\n" + body
        ),
        st.integers(1, 100_000).map(
            lambda n: head + b"\r\nX-Big: " + b"a" * n + b"\r\n\r\n" + body
        ),
        st.integers(1, 100_000).map(lambda n: b"GET /" + b"a" * n + b" HTTP/1.1\r\n\r\n"),
    )  # fmt: skip


def assert_answered_by_contract(raw: bytes) -> None:
    """Nothing at all (a clean close), or HTTP answers whose errors are the contract's JSON."""
    for status, headers, body in answers(raw):
        if status >= 400:
            assert headers.get("content-type") == "application/json", (status, headers)
            document = json.loads(body)
            assert set(document) == {"error"} and isinstance(document["error"], str)
            assert headers.get("access-control-allow-origin"), headers


def assert_still_serving(stack: RunningStack, key: str) -> None:
    answer = requests.post(
        stack.render_url,
        json={"prompt": "a lighthouse, after the fuzz", "seed": 1},
        headers={"x-api-key": key},
        timeout=GUARD_SECONDS,
    )
    assert answer.status_code == 200
    assert answer.content[:2] == b"\xff\xd8"


@pytest.mark.timeout(900)
@pytest.mark.parametrize("examples", sizes(100, 400, "examples"))
def test_any_bytes_get_a_contract_answer_or_a_clean_close(
    stack: RunningStack, roomy_key: str, examples: int
) -> None:
    port = port_of(stack)

    @fuzzing(examples)
    @given(data=hostile(roomy_key))
    def check(data: bytes) -> None:
        assert_answered_by_contract(exchange(port, data))

    check()
    assert_still_serving(stack, roomy_key)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("piece", [1, 7, 64])
def test_a_request_sent_in_small_writes_is_one_request(
    stack: RunningStack, roomy_key: str, piece: int
) -> None:
    request = valid_request(roomy_key)
    with socket.create_connection(("127.0.0.1", port_of(stack)), timeout=GUARD_SECONDS) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for start in range(0, len(request), piece):
            sock.sendall(request[start : start + piece])
        sock.shutdown(socket.SHUT_WR)
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    ((status, headers, body),) = answers(raw)
    assert status == 200
    assert headers["content-type"] == "image/jpeg"
    assert body[:2] == b"\xff\xd8"


def test_many_connections_left_open_do_not_stop_the_stack(
    stack: RunningStack, roomy_key: str
) -> None:
    """Clients that connect and send half a request, and stay: others are still served."""
    port = port_of(stack)
    idle = [socket.create_connection(("127.0.0.1", port), timeout=GUARD_SECONDS) for _ in range(50)]
    try:
        for sock in idle:
            sock.sendall(b"POST /v1/segmind-vega-rt-v1 HTTP/1.1\r\nHost: lo")
        assert_still_serving(stack, roomy_key)
    finally:
        for sock in idle:
            sock.close()
