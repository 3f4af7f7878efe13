"""The journal of requests, the admin API around it, and reset."""

from __future__ import annotations

import datetime as dt

import pytest


def test_the_journal_records_method_path_headers_body_outcome_and_time(make_mock, clock):
    segmind = make_mock(clock=clock)
    segmind.render(
        {"prompt": "a lighthouse", "seed": 3, "extra": [1, 2]}, headers={"X-Trace": "abc"}
    )
    (entry,) = segmind.admin("GET", "requests").json()["requests"]
    assert entry["method"] == "POST"
    assert entry["path"] == "/v1/segmind-vega-rt-v1"
    assert entry["headers"]["X-Trace"] == "abc"
    assert entry["headers"]["x-api-key"] == segmind.mock.api_key
    assert entry["body"] == {"prompt": "a lighthouse", "seed": 3, "extra": [1, 2]}
    assert entry["outcome"] == {"status": 200}
    assert dt.datetime.fromisoformat(entry["time"]) == dt.datetime.fromtimestamp(clock.now, dt.UTC)
    assert entry["index"] == 0
    assert segmind.mock.requests() == [entry], "the in-process journal is the same"


def test_every_public_request_is_journalled_in_order_with_its_outcome(segmind):
    segmind.render()
    segmind.render(b"not json")
    segmind.render(key=None)
    segmind.http.get(segmind.mock.url + "/v1/unknown-model?x=1", timeout=30)
    segmind.mock.enqueue({"status": 502})
    segmind.render()
    journal = segmind.mock.requests()
    assert [e["index"] for e in journal] == [0, 1, 2, 3, 4]
    assert [e["outcome"] for e in journal] == [
        {"status": 200},
        {"status": 400},
        {"status": 401},
        {"status": 404},
        {"status": 502},
    ]
    assert journal[1]["body"] is None, "a body that is not JSON is journalled as null"
    assert journal[3]["method"] == "GET"
    assert journal[3]["path"] == "/v1/unknown-model?x=1"


def test_admin_requests_are_not_journalled(segmind):
    segmind.admin("GET", "health")
    segmind.admin("GET", "queue")
    assert segmind.admin("GET", "requests").json() == {"requests": []}


def test_deleting_the_journal_keeps_queue_and_credits(segmind):
    segmind.render()
    segmind.mock.enqueue({"status": 500})
    assert segmind.admin("DELETE", "requests").json() == {"cleared": True}
    assert segmind.mock.requests() == []
    assert segmind.mock.state.queued() == [{"status": 500}]
    assert segmind.mock.credits()[segmind.mock.api_key] == segmind.mock.options.credits - 1
    segmind.render()
    assert segmind.mock.requests()[0]["index"] == 0


def test_reset_refills_credits_clears_windows_queue_and_journal(make_mock, clock):
    segmind = make_mock(credits=1, rate_limit=1, clock=clock)
    assert segmind.render().status_code == 200
    segmind.assert_error(segmind.render(), 429)
    segmind.mock.enqueue({"status": 500, "times": 3})
    assert segmind.admin("GET", "credits").json() == {"credits": {segmind.mock.api_key: 0}}

    assert segmind.admin("POST", "reset").json() == {"reset": True}

    assert segmind.admin("GET", "credits").json() == {"credits": {segmind.mock.api_key: 1}}
    assert segmind.admin("GET", "queue").json() == {"responses": []}
    assert segmind.admin("GET", "requests").json() == {"requests": []}
    response = segmind.render()
    assert response.status_code == 200, "the window was cleared and the queue emptied"
    assert response.headers["x-remaining-credits"] == "0"


def test_in_process_reset_matches_the_admin_route(make_mock):
    segmind = make_mock(credits=3)
    segmind.render()
    segmind.mock.enqueue({"status": 500})
    segmind.mock.reset()
    assert segmind.mock.credits() == {segmind.mock.api_key: 3}
    assert segmind.mock.requests() == []
    assert segmind.render().status_code == 200


def test_health_and_unknown_admin_routes(segmind):
    assert segmind.admin("GET", "health").json() == {"status": "ok"}
    segmind.assert_error(segmind.admin("GET", "nothing-here"), 404, mentions="No admin route")
    segmind.assert_error(segmind.admin("GET", "enqueue"), 404, mentions="No admin route")


@pytest.mark.parametrize("route", ["requests", "requests/"])
def test_admin_routes_accept_a_trailing_slash(segmind, route):
    assert segmind.admin("GET", route).status_code == 200


def test_the_journal_keeps_only_the_newest_entries(make_mock, monkeypatch):
    from mock_server import state

    monkeypatch.setattr(state, "JOURNAL_LIMIT", 3)
    segmind = make_mock()
    for seed in range(5):
        segmind.render(seed=seed)
    journal = segmind.mock.requests()
    assert [e["index"] for e in journal] == [2, 3, 4]
    assert [e["body"]["seed"] for e in journal] == [2, 3, 4]
