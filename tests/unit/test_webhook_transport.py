"""One webhook attempt against receivers that stall or hang up anywhere: only a whole answer
counts (docs/contract.md, "Webhooks").

Each receiver is a raw socket on loopback (``devkit.raw_receiver``) that plays bytes and then
holds the connection open (the attempt's timer must cut it: ``timeout``) or closes it (what
came is not whole: ``incomplete answer``). Whole answers, by each framing, are delivered at
once, and a body longer than what is read is left unread without waiting for its end.
"""

from __future__ import annotations

import pytest

from devkit.raw_receiver import CLOSE, STALL, RawReceiver, Then
from vegart.webhooks.targets import Destination, TargetPolicy
from vegart.webhooks.transport import (
    BAD_ANSWER,
    CONNECTION_FAILED,
    INCOMPLETE_ANSWER,
    MAX_BODY_BYTES,
    TIMEOUT,
    Outcome,
    post,
)

EVENT = b'{"request_id": "r", "status": "COMPLETED"}'
#: The cut of an attempt that stalls: short, since a stalled receiver is what it waits for.
CUT_SECONDS = 0.5
#: Room for a whole answer on a busy machine: it comes back long before.
ROOMY_SECONDS = 30.0
OK = b"HTTP/1.1 200 OK\r\n"


def attempt(receiver: RawReceiver, timeout: float) -> Outcome:
    target = TargetPolicy(allow_loopback=True).parse(receiver.url)
    return post(Destination(target, "127.0.0.1"), EVENT, {"webhook-id": "msg_1"}, timeout=timeout)


def played(answer: bytes, then: Then, timeout: float) -> Outcome:
    with RawReceiver.running(answer, then) as receiver:
        outcome = attempt(receiver, timeout)
        (request,) = receiver.requests
    assert request.endswith(b"\r\n\r\n" + EVENT)  # the whole event reached the receiver
    return outcome


#: Where an answer can stop: nothing yet, inside the status line, inside the headers, inside
#: a body by its length, between two chunks, inside a chunk, inside the trailers, and inside a
#: body that runs to the connection's end.
UNFINISHED = {
    "before the status line": b"",
    "inside the status line": b"HTTP/1.1 20",
    "after the status line": OK,
    "inside the headers": OK + b"Content-Type: text/plain\r\nX-Slow: 1\r\n",
    "inside a header line": OK + b"Content-Ty",
    "inside the body": OK + b"Content-Length: 1000\r\n\r\n" + b"x" * 10,
    "between chunks": OK + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    "inside a chunk": OK + b"Transfer-Encoding: chunked\r\n\r\n10\r\nhello",
    "inside a chunk size": OK + b"Transfer-Encoding: chunked\r\n\r\n1",
    "inside the trailers": OK + b"Transfer-Encoding: chunked\r\n\r\n0\r\nX-Trailer: 1\r\n",
}


@pytest.mark.parametrize("answer", UNFINISHED.values(), ids=UNFINISHED.keys())
def test_a_receiver_that_stalls_anywhere_is_cut_and_not_delivered(answer: bytes) -> None:
    outcome = played(answer, STALL, CUT_SECONDS)
    assert (outcome.status, outcome.error) == (None, TIMEOUT)
    assert not outcome.delivered


def test_a_body_to_the_connections_end_that_never_ends_is_cut_and_not_delivered() -> None:
    outcome = played(OK + b"\r\nthe start of a body", STALL, CUT_SECONDS)
    assert (outcome.status, outcome.error) == (None, TIMEOUT)


@pytest.mark.parametrize("answer", UNFINISHED.values(), ids=UNFINISHED.keys())
def test_a_receiver_that_hangs_up_anywhere_is_not_delivered(answer: bytes) -> None:
    outcome = played(answer, CLOSE, ROOMY_SECONDS)
    assert (outcome.status, outcome.error) == (None, INCOMPLETE_ANSWER)
    assert not outcome.delivered


WHOLE = {
    "by its length": OK + b"Content-Length: 2\r\n\r\nok",
    "no body": b"HTTP/1.1 204 No Content\r\n\r\n",
    "chunked, with trailers": OK
    + b"Transfer-Encoding: chunked\r\n\r\n2;ext=1\r\nok\r\n3\r\n!!!\r\n0\r\nX-Sum: 5\r\n\r\n",
    "an interim answer first": b"HTTP/1.1 100 Continue\r\n\r\n" + OK + b"Content-Length: 0\r\n\r\n",
    "bare line ends": b"HTTP/1.0 200 OK\nContent-Length: 2\n\nok",
}


@pytest.mark.parametrize("answer", WHOLE.values(), ids=WHOLE.keys())
def test_a_whole_2xx_is_delivered_and_the_connection_left_open_is_not_waited_for(
    answer: bytes,
) -> None:
    # The receiver keeps the connection open after a whole answer: nothing more is awaited.
    outcome = played(answer, STALL, ROOMY_SECONDS)
    assert outcome.error is None
    assert outcome.delivered


def test_a_body_to_the_connections_end_is_whole_when_the_receiver_closes() -> None:
    outcome = played(OK + b"Content-Type: text/plain\r\n\r\nthanks", CLOSE, ROOMY_SECONDS)
    assert (outcome.status, outcome.error) == (200, None)


def test_what_is_read_of_a_long_body_is_enough_and_the_rest_is_not_awaited() -> None:
    head = OK + b"Content-Length: 10000000\r\n\r\n"
    outcome = played(head + b"x" * MAX_BODY_BYTES, STALL, ROOMY_SECONDS)
    assert (outcome.status, outcome.error) == (200, None)
    chunked = OK + b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % (4 * MAX_BODY_BYTES)
    outcome = played(chunked + b"y" * MAX_BODY_BYTES, STALL, ROOMY_SECONDS)
    assert (outcome.status, outcome.error) == (200, None)


@pytest.mark.parametrize("status", [301, 404, 410, 500, 503])
def test_a_whole_answer_of_another_status_is_that_status(status: int) -> None:
    outcome = played(b"HTTP/1.1 %d Nope\r\nContent-Length: 0\r\n\r\n" % status, STALL, 30)
    assert (outcome.status, outcome.error) == (status, None)
    assert not outcome.delivered


MALFORMED = {
    "no HTTP": b"HELLO THERE\r\n\r\n",
    "HTTP/2 in text": b"HTTP/2 200\r\n\r\n",
    "a status of two digits": b"HTTP/1.1 20 OK\r\n\r\n",
    "a header without a colon": OK + b"not a header\r\n\r\n",
    "a folded header": OK + b"X-A: 1\r\n  continued\r\n\r\n",
    "two lengths": OK + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\nok",
    "a length that is no number": OK + b"Content-Length: 0x10\r\n\r\n",
    "a chunk size that is no number": OK + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
    "a chunk longer than its size": OK + b"Transfer-Encoding: chunked\r\n\r\n1\r\nok\r\n0\r\n\r\n",
    "a line too long": OK + b"X-Long: " + b"a" * 20_000 + b"\r\n\r\n",
    "too many headers": OK + b"".join(b"X-%d: 1\r\n" % n for n in range(200)) + b"\r\n",
    "an upgrade": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
}


@pytest.mark.parametrize("answer", MALFORMED.values(), ids=MALFORMED.keys())
def test_an_answer_that_is_no_http_is_a_bad_answer(answer: bytes) -> None:
    outcome = played(answer, STALL, ROOMY_SECONDS)
    assert (outcome.status, outcome.error) == (None, BAD_ANSWER)


def test_a_receiver_that_is_not_listening_is_a_failed_connection() -> None:
    with RawReceiver.running(b"") as gone:
        url = gone.url
    target = TargetPolicy(allow_loopback=True).parse(url)
    outcome = post(Destination(target, "127.0.0.1"), EVENT, {}, timeout=ROOMY_SECONDS)
    assert (outcome.status, outcome.error) == (None, CONNECTION_FAILED)


def test_a_receiver_that_stalls_the_tls_handshake_is_cut_too() -> None:
    with RawReceiver.running(b"", STALL) as receiver:
        url = receiver.url.replace("http://", "https://")
        target = TargetPolicy(allow_loopback=True).parse(url)
        outcome = post(Destination(target, "127.0.0.1"), EVENT, {}, timeout=CUT_SECONDS)
    assert (outcome.status, outcome.error) == (None, TIMEOUT)
