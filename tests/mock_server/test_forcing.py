"""Answers a test asks for: ``Prefer: code=NNN`` and the queue of ``/__admin/enqueue``."""

from __future__ import annotations

import time

import pytest

from mock_server import DOCUMENTED_STATUSES
from mock_server.contract import MESSAGES

STATUSES = sorted(DOCUMENTED_STATUSES)


def assert_forced(segmind, response, status):
    """A forced error looks like a real one: Segmind's shape, message and headers."""
    segmind.assert_error(response, status, MESSAGES[status])
    assert response.headers["x-request-id"]
    if status == 429:
        assert response.headers["x-rate-limit-reset-at-utc"].endswith("Z")
        assert "Retry-After" not in response.headers


def test_every_documented_status_is_known():
    assert STATUSES == [400, 401, 403, 404, 406, 429, 500, 502, 504]


@pytest.mark.parametrize("status", STATUSES)
def test_prefer_forces_each_documented_status(segmind, status):
    response = segmind.render(headers={"Prefer": f"code={status}"})
    assert_forced(segmind, response, status)
    assert segmind.mock.requests()[-1]["outcome"] == {"status": status}


@pytest.mark.parametrize("status", STATUSES)
def test_the_queue_forces_each_documented_status(segmind, status):
    queued = segmind.admin("POST", "enqueue", json={"responses": [{"status": status}]})
    assert queued.json() == {"queued": 1}
    assert_forced(segmind, segmind.render(), status)
    assert segmind.render().status_code == 200, "one entry is played once"


def test_a_forced_429_carries_retry_after_when_the_mock_is_told_to(make_mock):
    segmind = make_mock(retry_after=True)
    response = segmind.render(headers={"Prefer": "code=429"})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.headers["x-rate-limit-reset-at-utc"]


def test_prefer_code_200_is_the_normal_answer(segmind):
    response = segmind.render(headers={"Prefer": "code=200"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"


def test_prefer_wins_over_the_queue_and_leaves_it_alone(segmind):
    segmind.mock.enqueue({"status": 502})
    assert segmind.render(headers={"Prefer": "code=504"}).status_code == 504
    assert segmind.render().status_code == 502


@pytest.mark.parametrize(
    "prefer", ["code=418", "code=abc", "code=200, fault=hang", "fault=meltdown", "delay_ms=-5"]
)
def test_a_prefer_the_mock_cannot_play_is_a_400(segmind, prefer):
    segmind.assert_error(segmind.render(headers={"Prefer": prefer}), 400, mentions="Prefer")


def test_unknown_preferences_are_ignored(segmind):
    assert segmind.render(headers={"Prefer": "respond-async, wait=10"}).status_code == 200


def test_a_sequence_is_served_in_order_then_the_normal_answer_returns(segmind):
    segmind.admin(
        "POST",
        "enqueue",
        json={"responses": [{"status": 429, "times": 2}, {"status": 200}, {"status": 502}]},
    )
    assert segmind.admin("GET", "queue").json() == {
        "responses": [{"status": 429}, {"status": 429}, {"status": 200}, {"status": 502}]
    }
    statuses = [segmind.render().status_code for _ in range(5)]
    assert statuses == [429, 429, 200, 502, 200]
    assert segmind.admin("GET", "queue").json() == {"responses": []}


def test_enqueue_appends_and_in_process_enqueue_matches_http(segmind):
    assert segmind.mock.enqueue({"status": 500, "times": 2}) == 2
    assert segmind.admin("POST", "enqueue", json={"responses": [{"status": 504}]}).json() == {
        "queued": 3
    }
    assert [segmind.render().status_code for _ in range(4)] == [500, 500, 504, 200]


def test_times_zero_queues_nothing(segmind):
    assert segmind.mock.enqueue({"status": 500, "times": 0}) == 0
    assert segmind.render().status_code == 200


def test_queued_headers_are_added_to_the_answer(segmind):
    segmind.mock.enqueue({"status": 429, "headers": {"Retry-After": "7", "x-extra": "yes"}})
    response = segmind.render()
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.headers["x-extra"] == "yes"


def _timed(call):
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


def test_delay_ms_holds_the_answer_back(segmind):
    segmind.mock.enqueue({"delay_ms": 300}, {"status": 500, "delay_ms": 200})
    ok, took_ok = _timed(segmind.render)
    failed, took_failed = _timed(segmind.render)
    fast = segmind.render()
    assert (ok.status_code, failed.status_code, fast.status_code) == (200, 500, 200)
    assert took_ok >= 0.3
    assert took_failed >= 0.2
    # The queue is spent: the third answer is the normal one, which the journal shows undelayed.
    assert segmind.mock.queued() == []


def test_prefer_delay_ms_holds_the_answer_back(segmind):
    response, took = _timed(lambda: segmind.render(headers={"Prefer": "code=504; delay_ms=250"}))
    assert response.status_code == 504
    assert took >= 0.25


def test_latency_option_delays_every_render(make_mock):
    segmind = make_mock(latency_ms=200)
    response, took = _timed(segmind.render)
    assert response.status_code == 200
    assert took >= 0.2
    assert float(response.headers["x-generation-time"]) >= 0.2


BAD_ENQUEUES = [
    (b"not json", "not valid JSON"),
    (b"[]", "responses"),
    (b'{"responses": {"status": 429}}', "responses"),
    (b'{"entries": []}', "responses"),
    (b'{"responses": [429]}', "object"),
    (b'{"responses": [{"status": 418}]}', "not documented"),
    (b'{"responses": [{"status": "429"}]}', "integer"),
    (b'{"responses": [{"status": true}]}', "integer"),
    (b'{"responses": [{"fault": "meltdown"}]}', "fault must be one of"),
    (b'{"responses": [{"status": 500, "fault": "hang"}]}', "not both"),
    (b'{"responses": [{"times": 2}]}', "needs a status"),
    (b'{"responses": [{"status": 500, "colour": "red"}]}', "unknown keys: colour"),
    (b'{"responses": [{"delay_ms": -1}]}', "delay_ms"),
    (b'{"responses": [{"status": 500, "times": -1}]}', "times"),
    (b'{"responses": [{"status": 500, "times": "2"}]}', "times"),
    (b'{"responses": [{"status": 500, "headers": {"x": 1}}]}', "headers"),
    (b'{"responses": [{"status": 500}, {"status": 418}]}', "not documented"),
]


@pytest.mark.parametrize(("body", "words"), BAD_ENQUEUES)
def test_a_bad_enqueue_is_a_400_and_queues_nothing(segmind, body, words):
    response = segmind.admin("POST", "enqueue", data=body)
    segmind.assert_error(response, 400, mentions=words)
    assert segmind.mock.state.queued() == []


def test_in_process_enqueue_refuses_bad_entries_too(segmind):
    from mock_server.behaviours import BadBehaviour

    with pytest.raises(BadBehaviour, match="not documented"):
        segmind.mock.enqueue({"status": 418})
