"""Coalesced renders: identical requests arriving together share one render and one credit.

Each thread stands for a Lambda instance: they share nothing but AWS (moto), as instances do.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

import boto3
import pytest
import responses

from mock_server import render_jpeg
from tests.support.lambda_events import (
    CLIENT_KEY_ID,
    FakeContext,
    api_event,
    header,
    load_function,
    response_body,
)
from vegart.keys import KeyStore
from vegart.leases import RenderLeases

URL = "https://api.segmind.test/v1/segmind-vega-rt-v1"
BODY = {"prompt": "a lighthouse, 32 times at once", "seed": 4242}


#: The identical requests of the burst.
BURST = 32


@pytest.fixture
def turned_away(monkeypatch: pytest.MonkeyPatch) -> threading.Semaphore:
    """Released once for each request that found the lease taken and began to wait."""
    waiting = threading.Semaphore(0)
    acquire = RenderLeases.acquire

    def spied(self: RenderLeases, render_key: str, seconds: float) -> str | None:
        token = acquire(self, render_key, seconds)
        if token is None:
            waiting.release()
        return token

    monkeypatch.setattr(RenderLeases, "acquire", spied)
    return waiting


@pytest.fixture
def slow_segmind(turned_away: threading.Semaphore) -> Any:
    """Segmind rendering only once every other request of the burst is waiting for the image."""
    calls: list[bytes] = []

    def answer(request: Any) -> tuple[int, dict[str, str], bytes]:
        calls.append(request.body)
        for _ in range(BURST - 1):
            assert turned_away.acquire(timeout=60), "the burst never queued up behind the render"
        body = json.loads(request.body)
        return 200, {}, render_jpeg(body["prompt"], body["seed"], body["num_inference_steps"])

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, URL, callback=answer)
        yield calls


def test_thirty_two_identical_requests_make_one_render_and_spend_one_credit(
    aws: dict[str, Any], keys: KeyStore, slow_segmind: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUEST_DEADLINE_SECONDS", "25")  # room for a busy machine
    fn = load_function("render")
    before = keys.require(CLIENT_KEY_ID).credits
    answers: list[dict[str, Any]] = []
    start = threading.Barrier(BURST)

    def client() -> None:
        start.wait()
        answers.append(fn.lambda_handler(api_event(BODY), FakeContext()))

    threads = [threading.Thread(target=client) for _ in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [a["statusCode"] for a in answers] == [200] * BURST
    assert {response_body(a) for a in answers} == {render_jpeg(BODY["prompt"], 4242, 4)}
    assert len(slow_segmind) == 1
    assert Counter(header(a, "x-cache") for a in answers) == {"MISS": 1, "HIT": BURST - 1}
    assert keys.require(CLIENT_KEY_ID).credits == before - 1


def test_a_failed_render_gives_the_lease_back(aws: dict[str, Any], keys: KeyStore) -> None:
    fn = load_function("render")
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, URL, status=400, json={"error": "prompt refused"})
        assert fn.lambda_handler(api_event(BODY), FakeContext())["statusCode"] == 400
    # No lease is left behind, so the same request renders at once rather than waiting for one.
    leases = boto3.client("dynamodb").scan(TableName=aws["leases_table"])
    assert leases["Items"] == []
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, URL, body=render_jpeg(BODY["prompt"], 4242, 4))
        answer = fn.lambda_handler(api_event(BODY), FakeContext())
    assert (answer["statusCode"], header(answer, "x-cache")) == (200, "MISS")


def test_a_stale_lease_is_taken_over(aws: dict[str, Any]) -> None:
    client = boto3.client("dynamodb")
    clock = [1_000_000.0]
    leases = RenderLeases(aws["leases_table"], lambda: client, clock=lambda: clock[0])
    held = leases.acquire("v1/k.jpg", seconds=10)
    assert held is not None
    assert leases.acquire("v1/k.jpg", seconds=10) is None
    clock[0] += 16  # the holder's deadline and the grace have passed: it crashed
    taken = leases.acquire("v1/k.jpg", seconds=10)
    assert taken is not None and taken != held
    leases.release("v1/k.jpg", held)  # the old holder, late, cannot free the new lease
    assert leases.acquire("v1/k.jpg", seconds=10) is None
    leases.release("v1/k.jpg", taken)
    assert leases.acquire("v1/k.jpg", seconds=10) is not None


def test_without_the_leases_table_requests_still_render(
    aws: dict[str, Any], keys: KeyStore
) -> None:
    boto3.client("dynamodb").delete_table(TableName=aws["leases_table"])
    fn = load_function("render")
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, URL, body=render_jpeg(BODY["prompt"], 4242, 4))
        response = fn.lambda_handler(api_event(BODY), FakeContext())
    assert response["statusCode"] == 200
