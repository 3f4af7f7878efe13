"""Coalesced renders: identical requests arriving together share one render, one credit, and
one outcome.

Each thread stands for a Lambda instance: they share nothing but AWS (moto), as instances do.
The backend (``responses``) holds its first answer until every other request of the burst is
watching the lease, so that the burst is a burst however the threads are scheduled.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
import responses

from devkit.clock import no_wait
from devkit.context import still_context
from devkit.events import CLIENT_KEY_ID, api_event, header, response_body, response_json
from devkit.functions import load_function
from devkit.moto import add_key
from mock_server import render_jpeg
from vegart.contract import parse_render_request
from vegart.keys import KeyStore
from vegart.render.leases import Claim, RenderLeases
from vegart.render.spec import cache_key

URL = "https://api.segmind.test/v1/segmind-vega-rt-v1"
BODY = {"prompt": "a lighthouse, 32 times at once", "seed": 4242}
#: The identical requests of a burst.
BURST = 32
#: The backend attempts one render makes (vegart.render.backends.retry.RetryPolicy's default).
ATTEMPTS = 4


@pytest.fixture
def watching(monkeypatch: pytest.MonkeyPatch) -> threading.Semaphore:
    """Released once for each request that found the lease taken and began to watch it."""
    released = threading.Semaphore(0)
    acquire = RenderLeases.acquire

    def spied(self: RenderLeases, render_key: str, seconds: float) -> Claim:
        claim = acquire(self, render_key, seconds)
        if claim.token is None:
            released.release()
        return claim

    monkeypatch.setattr(RenderLeases, "acquire", spied)
    return released


@pytest.fixture
def lease_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every read of a lease (what a watching request does while it waits)."""
    reads: list[str] = []
    read = RenderLeases.read

    def spied(self: RenderLeases, render_key: str) -> Any:
        reads.append(render_key)
        return read(self, render_key)

    monkeypatch.setattr(RenderLeases, "read", spied)
    return reads


@pytest.fixture
def deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUEST_DEADLINE_SECONDS", "25")  # room for a busy machine


Answer = tuple[int, dict[str, str], bytes]


@contextlib.contextmanager
def backend(
    watching: threading.Semaphore, answer: Callable[[Any], Answer]
) -> Iterator[list[bytes]]:
    """A backend whose first call waits for the rest of the burst to be watching."""
    calls: list[bytes] = []

    def callback(request: Any) -> Answer:
        calls.append(request.body)
        if len(calls) == 1:
            for _ in range(BURST - 1):
                assert watching.acquire(timeout=60), "the burst never queued up behind the render"
        return answer(request)

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, URL, callback=callback)
        yield calls


def image(request: Any) -> Answer:
    body = json.loads(request.body)
    return 200, {}, render_jpeg(body["prompt"], body["seed"], body["num_inference_steps"])


def burst(count: int = BURST, key_id: str = CLIENT_KEY_ID) -> list[dict[str, Any]]:
    """``count`` identical requests at once, each from a thread of its own."""
    fn = load_function("render", sleep=no_wait)
    answers: list[dict[str, Any]] = []
    crashed: list[BaseException] = []
    start = threading.Barrier(count)

    def client() -> None:
        start.wait()
        try:
            answers.append(fn.lambda_handler(api_event(BODY, key_id=key_id), still_context()))
        except BaseException as exc:  # the function itself must never raise: surface it
            crashed.append(exc)

    threads = [threading.Thread(target=client) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if crashed:
        raise crashed[0]
    return answers


def test_thirty_two_identical_requests_make_one_render_and_spend_one_credit(
    aws: dict[str, Any], keys: KeyStore, watching: threading.Semaphore, deadline: None
) -> None:
    before = keys.require(CLIENT_KEY_ID).credits
    with backend(watching, image) as calls:
        answers = burst()
    assert [a["statusCode"] for a in answers] == [200] * BURST
    assert {response_body(a) for a in answers} == {render_jpeg(BODY["prompt"], 4242, 4)}
    assert len(calls) == 1
    assert Counter(header(a, "x-cache") for a in answers) == {"MISS": 1, "HIT": BURST - 1}
    assert keys.require(CLIENT_KEY_ID).credits == before - 1


@pytest.mark.parametrize(
    ("upstream", "status", "message"),
    [
        ((502, {}, b'{"error": "upstream down"}'), 502, "The render backend failed"),
        ((400, {}, b'{"error": "prompt refused"}'), 400, "prompt refused"),
        ((429, {"Retry-After": "40"}, b'{"error": "slow down"}'), 429, "Rate limit"),
    ],
    ids=["outage", "refused-prompt", "rate-limited"],
)
def test_the_holders_failure_is_every_watchers_answer_at_once(
    aws: dict[str, Any],
    keys: KeyStore,
    watching: threading.Semaphore,
    deadline: None,
    upstream: Answer,
    status: int,
    message: str,
) -> None:
    """During an outage a burst is one render's attempts, answered together, and free."""
    before = keys.require(CLIENT_KEY_ID).credits
    with backend(watching, lambda _: upstream) as calls:
        answers = burst()
    assert [a["statusCode"] for a in answers] == [status] * BURST
    assert {response_json(a)["error"] for a in answers} == {response_json(answers[0])["error"]}
    assert message in response_json(answers[0])["error"]
    if status == 429:
        assert {header(a, "Retry-After") for a in answers} == {"40"}
    # One render's attempts: the holder's retries of a 502, a single call otherwise.
    assert len(calls) == (ATTEMPTS if status == 502 else 1)
    assert keys.require(CLIENT_KEY_ID).credits == before


def test_a_key_without_credits_is_refused_at_once_however_many_requests_it_sends(
    aws: dict[str, Any], keys: KeyStore, lease_reads: list[str], deadline: None
) -> None:
    broke = add_key(keys, "vg_" + "b" * 40, 0, label="broke")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, URL, callback=image)
        answers = burst(20, key_id=broke)
        assert len(mock.calls) == 0
    assert [a["statusCode"] for a in answers] == [406] * 20
    assert lease_reads == [], "a request that cannot pay waited for another's render"


def test_a_holders_own_refusal_is_not_passed_to_its_watchers(
    aws: dict[str, Any], keys: KeyStore, deadline: None
) -> None:
    """A holder refused for its own key (406) gives the lease back plainly: the next request
    renders, rather than answering another key's 406."""
    fn = load_function("render", sleep=no_wait)
    broke = add_key(keys, "vg_" + "c" * 40, 0, label="broke")
    assert fn.lambda_handler(api_event(BODY, key_id=broke), still_context())["statusCode"] == 406
    (item,) = boto3.client("dynamodb").scan(TableName=aws["leases_table"])["Items"]
    assert "holder" not in item
    assert "failed_holder" not in item
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, URL, callback=image)
        answer = fn.lambda_handler(api_event(BODY), still_context())
    assert (answer["statusCode"], header(answer, "x-cache")) == (200, "MISS")


def test_a_failed_render_gives_the_lease_back(aws: dict[str, Any], keys: KeyStore) -> None:
    fn = load_function("render", sleep=no_wait)
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, URL, status=400, json={"error": "prompt refused"})
        assert fn.lambda_handler(api_event(BODY), still_context())["statusCode"] == 400
    # Nobody holds the lease, so the same request renders at once rather than waiting for one.
    (item,) = boto3.client("dynamodb").scan(TableName=aws["leases_table"])["Items"]
    assert "holder" not in item
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, URL, body=render_jpeg(BODY["prompt"], 4242, 4))
        answer = fn.lambda_handler(api_event(BODY), still_context())
    assert (answer["statusCode"], header(answer, "x-cache")) == (200, "MISS")


def test_a_stale_lease_is_taken_over(aws: dict[str, Any]) -> None:
    client = boto3.client("dynamodb")
    clock = [1_000_000.0]
    leases = RenderLeases(aws["leases_table"], lambda: client, clock=lambda: clock[0])
    held = leases.acquire("v1/k.jpg", seconds=10).token
    assert held is not None
    assert leases.acquire("v1/k.jpg", seconds=10) == Claim(token=None, holder=held)
    clock[0] += 16  # the holder's deadline and the grace have passed: it crashed
    taken = leases.acquire("v1/k.jpg", seconds=10).token
    assert taken is not None and taken != held
    leases.release("v1/k.jpg", held)  # the old holder, late, cannot free the new lease
    assert leases.acquire("v1/k.jpg", seconds=10) == Claim(token=None, holder=taken)
    leases.release("v1/k.jpg", taken)
    assert leases.acquire("v1/k.jpg", seconds=10).token is not None


def test_a_watcher_of_a_crashed_holder_renders_itself(
    aws: dict[str, Any], keys: KeyStore, deadline: None
) -> None:
    """A holder that never settles (its instance died) is taken over once its time is up."""
    service = load_function("render", sleep=no_wait).wiring.render_service
    key = cache_key(service.spec(parse_render_request(json.dumps(BODY).encode())))
    client = boto3.client("dynamodb")
    crashed = RenderLeases(aws["leases_table"], lambda: client, clock=lambda: 0.0)
    assert crashed.acquire(key, seconds=1).token is not None  # expired long ago, never settled
    fn = load_function("render", sleep=no_wait)
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, URL, callback=image)
        answer = fn.lambda_handler(api_event(BODY), still_context())
    assert (answer["statusCode"], header(answer, "x-cache")) == (200, "MISS")


def test_without_the_leases_table_requests_still_render(
    aws: dict[str, Any], keys: KeyStore
) -> None:
    boto3.client("dynamodb").delete_table(TableName=aws["leases_table"])
    fn = load_function("render", sleep=no_wait)
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, URL, body=render_jpeg(BODY["prompt"], 4242, 4))
        response = fn.lambda_handler(api_event(BODY), still_context())
    assert response["statusCode"] == 200
