"""The mock never falls over: many clients at once, broken HTTP, clients that walk away."""

from __future__ import annotations

import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

ROUTE = b"/v1/segmind-vega-rt-v1"


def raw_exchange(port: int, data: bytes, *, timeout: float = 30.0) -> bytes:
    """Send bytes on a fresh connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def split_answer(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines)}
    return int(status_line.split()[1]), headers, body


@pytest.fixture
def still_serving(segmind, capsys):
    """After the test: the server answers a normal render and never logged an internal error."""
    yield segmind
    assert segmind.render().status_code == 200
    assert "internal error" not in capsys.readouterr().err


def test_sixteen_concurrent_clients_are_all_served(still_serving):
    segmind = still_serving
    mock = segmind.mock

    def client(number: int) -> list[tuple[int, str, bytes]]:
        with requests.Session() as http:
            out = []
            for round_ in range(5):
                response = http.post(
                    mock.endpoint,
                    timeout=10,
                    json={"prompt": f"client {number}", "seed": round_},
                    headers={"x-api-key": mock.api_key},
                )
                out.append(
                    (response.status_code, response.headers["x-request-id"], response.content)
                )
            return out

    with ThreadPoolExecutor(16) as pool:
        results = [answer for answers in pool.map(client, range(16)) for answer in answers]
    assert {status for status, _, _ in results} == {200}
    assert len({request_id for _, request_id, _ in results}) == 80
    assert len({image for _, _, image in results}) == 80
    assert mock.credits()[mock.api_key] == mock.options.credits - 80
    assert len(mock.requests()) == 80


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"\x16\x03\x01\x02\x00garbage\r\n\r\n", 400),  # a TLS hello on the plain port
        (b"HELLO\r\n\r\n", 400),
        (b"POST " + ROUTE + b" HTTP/1.1 extra\r\n\r\n", 400),
        (b"POST " + ROUTE + b" HTTP/x.y\r\n\r\n", 400),
        (b"POST " + ROUTE + b" HTTP/1.1\r\nContent-Length: many\r\n\r\n", 400),
        (b"POST " + ROUTE + b" HTTP/1.1\r\nContent-Length: -3\r\n\r\n", 400),
        (b"POST " + ROUTE + b" HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
    ],
    ids=[
        "tls",
        "one-word",
        "four-words",
        "bad-version",
        "bad-length",
        "negative-length",
        "bad-chunk",
        "long-line",
    ],
)
def test_malformed_http_gets_a_json_error_and_the_server_serves_on(
    still_serving, request_bytes, status
):
    answer = raw_exchange(still_serving.mock.port, request_bytes)
    got, headers, body = split_answer(answer)
    assert got == status
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    assert set(json.loads(body)) == {"error"}


def test_an_oversized_body_is_refused_before_it_is_sent(still_serving):
    """A 10 MB Content-Length gets its 400 after 1 KiB, without the server waiting for more.

    The client sends 1 KiB and then only listens: an answer can come only from a server that
    did not wait for the rest.
    """
    segmind = still_serving
    with socket.create_connection(("127.0.0.1", segmind.mock.port), timeout=60) as sock:
        sock.sendall(
            b"POST "
            + ROUTE
            + b" HTTP/1.1\r\nHost: mock\r\nx-api-key: "
            + segmind.mock.api_key.encode()
            + b"\r\nContent-Length: 10000000\r\n\r\n"
            + b"x" * 1024
        )
        answer = sock.recv(65536)
    status, headers, body = split_answer(answer)
    assert status == 400
    assert json.loads(body) == {"error": "Request body is larger than 64 KiB"}
    assert headers["connection"] == "close"
    assert segmind.mock.requests()[-1]["outcome"] == {"status": 400}


def test_a_large_body_from_requests_reads_the_400_not_a_reset(still_serving):
    segmind = still_serving
    response = segmind.render(b'{"prompt": "' + b"x" * 300_000 + b'"}')
    segmind.assert_error(response, 400, "Request body is larger than 64 KiB")


@pytest.mark.parametrize(
    "partial",
    [
        b"POST " + ROUTE,  # half a request line
        b"POST " + ROUTE + b" HTTP/1.1\r\nHost: mock\r\nx-api",  # half the headers
        b"POST " + ROUTE + b' HTTP/1.1\r\nContent-Length: 500\r\n\r\n{"prompt":',  # half a body
    ],
    ids=["request-line", "headers", "body"],
)
def test_a_client_leaving_midway_breaks_nothing(still_serving, partial):
    with socket.create_connection(("127.0.0.1", still_serving.mock.port), timeout=30) as sock:
        sock.sendall(partial)
    with socket.create_connection(("127.0.0.1", still_serving.mock.port), timeout=30) as sock:
        sock.sendall(partial)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    # and the same, with the rest of the traffic going on around it
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda _: still_serving.render().status_code, range(8)))
    assert statuses == [200] * 8


def test_a_client_leaving_before_a_slow_answer_breaks_nothing(make_mock, capsys):
    segmind = make_mock(latency_ms=200)
    body = json.dumps({"prompt": "slow", "seed": 1}).encode()
    with socket.create_connection(("127.0.0.1", segmind.mock.port), timeout=30) as sock:
        sock.sendall(
            b"POST "
            + ROUTE
            + b" HTTP/1.1\r\nHost: mock\r\nx-api-key: "
            + segmind.mock.api_key.encode()
            + b"\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
    # The handler goes on to answer a connection already closed.
    journal = segmind.mock.wait_for_requests(1)
    assert journal[0]["outcome"] == {"status": 200}
    assert segmind.render().status_code == 200
    assert "internal error" not in capsys.readouterr().err


def test_keep_alive_serves_many_requests_on_one_connection(still_serving):
    segmind = still_serving
    with socket.create_connection(("127.0.0.1", segmind.mock.port), timeout=30) as sock:
        request = (
            b"POST "
            + ROUTE
            + b" HTTP/1.1\r\nHost: mock\r\nx-api-key: "
            + segmind.mock.api_key.encode()
            + b"\r\nPrefer: code=429\r\nContent-Length: 2\r\n\r\n{}"
        )
        sock.sendall(request * 3)  # pipelined
        received = b""
        while received.count(b"HTTP/1.1 429") < 3 or not received.endswith(b"}"):
            received += sock.recv(65536)
    assert received.count(b"HTTP/1.1 429") == 3


def test_stop_is_quick_with_idle_keep_alive_connections(make_mock):
    segmind = make_mock()
    sessions = [requests.Session() for _ in range(4)]
    for http in sessions:
        assert (
            http.post(
                segmind.mock.endpoint,
                json={"prompt": "a"},
                timeout=30,
                headers={"x-api-key": segmind.mock.api_key},
            ).status_code
            == 200
        )
    # The sessions keep their connections open: a stop that waited for them would take the
    # 120 s idle timeout.
    stopper = threading.Thread(target=segmind.mock.stop)
    stopper.start()
    stopper.join(60)
    assert not stopper.is_alive(), "stop waited for idle keep-alive connections"
    for http in sessions:
        http.close()
    with pytest.raises(requests.ConnectionError):
        requests.post(segmind.mock.endpoint, json={"prompt": "a"}, timeout=1)
