"""Transport faults, each seen by a ``requests`` client as the exception a real network gives."""

from __future__ import annotations

import http.client
import socket
import threading

import pytest
import requests

from mock_server import FAULTS


def causes(exc: BaseException) -> list[BaseException]:
    """Every exception behind ``exc``: requests and urllib3 wrap them in args, not __cause__."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.append(current)
        todo.extend(arg for arg in current.args if isinstance(arg, BaseException))
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
    return seen


def has_cause(exc: BaseException, kind: type[BaseException]) -> bool:
    return any(isinstance(e, kind) for e in causes(exc))


# (fault, what requests raises, an exception that must be behind it, or None)
EXPECTED = [
    ("connection_reset", requests.ConnectionError, ConnectionResetError),
    ("empty_response", requests.ConnectionError, http.client.RemoteDisconnected),
    ("truncated_body", requests.exceptions.ChunkedEncodingError, http.client.IncompleteRead),
    ("garbage_then_close", requests.ConnectionError, http.client.BadStatusLine),
    ("hang", requests.exceptions.ReadTimeout, None),
]


def test_every_fault_is_covered():
    assert {fault for fault, _, _ in EXPECTED} == FAULTS


def read_timeout(fault: str) -> float:
    """Short for the hang, which only a timeout ends; long for the rest, on a busy machine too."""
    return 0.5 if fault == "hang" else 30.0


def _check(segmind, call, fault, raised, cause):
    with pytest.raises(raised) as caught:
        call()
    if cause is not None:
        assert has_cause(caught.value, cause), causes(caught.value)
    if fault != "hang":
        assert not isinstance(caught.value, requests.Timeout)
    entry = segmind.mock.requests()[-1]
    assert entry["outcome"] == {"fault": fault}
    # The server is still serving, on the same session, after the fault.
    assert segmind.render().status_code == 200


@pytest.mark.parametrize(("fault", "raised", "cause"), EXPECTED, ids=[f for f, _, _ in EXPECTED])
def test_a_fault_forced_by_prefer(segmind, fault, raised, cause):
    _check(
        segmind,
        lambda: segmind.render(headers={"Prefer": f"fault={fault}"}, timeout=read_timeout(fault)),
        fault,
        raised,
        cause,
    )


@pytest.mark.parametrize(("fault", "raised", "cause"), EXPECTED, ids=[f for f, _, _ in EXPECTED])
def test_a_fault_from_the_queue(segmind, fault, raised, cause):
    segmind.admin("POST", "enqueue", json={"responses": [{"fault": fault}]})
    _check(segmind, lambda: segmind.render(timeout=read_timeout(fault)), fault, raised, cause)


def test_faults_then_success_in_order(segmind):
    segmind.mock.enqueue(
        {"fault": "connection_reset"}, {"fault": "empty_response"}, {"status": 200}
    )
    outcomes = []
    for _ in range(3):
        try:
            outcomes.append(segmind.render().status_code)
        except requests.ConnectionError:
            outcomes.append("error")
    assert outcomes == ["error", "error", 200]


def test_the_truncated_body_announces_more_than_it_sends(segmind):
    with socket.create_connection(("127.0.0.1", segmind.mock.port), timeout=30) as sock:
        sock.sendall(
            b"POST /v1/segmind-vega-rt-v1 HTTP/1.1\r\nHost: mock\r\n"
            b"Prefer: fault=truncated_body\r\nContent-Length: 2\r\n\r\n{}"
        )
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    length = int(
        next(
            line.split(b":")[1]
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
    )
    assert body.startswith(b"\xff\xd8")
    assert 0 < len(body) < length


def test_a_hang_ends_when_the_server_stops(make_mock):
    segmind = make_mock()
    sock = socket.create_connection(("127.0.0.1", segmind.mock.port), timeout=60)
    sock.sendall(
        b"POST /v1/segmind-vega-rt-v1 HTTP/1.1\r\nHost: mock\r\n"
        b"Prefer: fault=hang\r\nContent-Length: 2\r\n\r\n{}"
    )
    assert segmind.mock.wait_for_requests(1)[0]["outcome"] == {"fault": "hang"}
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(sock.recv(1024)))
    reader.start()
    segmind.mock.stop()
    # Only the stop can end the read: the hang itself never does, and the socket waits 60 s.
    reader.join(60)
    sock.close()
    assert not reader.is_alive()
    assert received == [b""], "the connection is closed, nothing was sent"


def test_a_hang_ends_when_the_client_gives_up(segmind):
    with pytest.raises(requests.exceptions.ReadTimeout):
        segmind.render(headers={"Prefer": "fault=hang"}, timeout=0.2)
    # The hanging handler noticed the client leave; the server answers others meanwhile.
    assert segmind.render().status_code == 200
