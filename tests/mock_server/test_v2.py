"""The mock's v2 API: Segmind's SDK runs against it as against Segmind, and a test can make a
job fail, step it along its states with its own clock, and see every call in the journal."""

from __future__ import annotations

import pytest
import requests
import segmind
from segmind import SegmindClient
from segmind.exceptions import SegmindError

from mock_server import MODEL_SLUG, MockSegmind, render_jpeg
from mock_server.contract import MESSAGES, MISSING_KEY_MESSAGE

SUBMIT = f"/v2/{MODEL_SLUG}"


@pytest.fixture
def sdk(segmind):
    client = SegmindClient(api_key=segmind.mock.api_key, base_url=segmind.mock.base_url, timeout=30)
    yield client
    client._client.close()


def submit(mock: MockSegmind, key: str | None = None, **body) -> requests.Response:
    headers = {"x-api-key": key or mock.api_key}
    payload = {"prompt": "a lighthouse", "seed": 3, **body}
    return requests.post(f"{mock.url}{SUBMIT}", json=payload, headers=headers, timeout=30)


def test_run_returns_the_result_whose_output_is_the_v1_image(sdk, segmind):
    result = sdk.run(MODEL_SLUG, prompt="a lighthouse", seed=3, num_inference_steps=5)
    assert result["status"] == "COMPLETED"
    assert result["seed"] == 3
    image = requests.get(result["output"], timeout=30)
    assert image.status_code == 200
    assert image.headers["Content-Type"] == "image/jpeg"
    assert image.content == render_jpeg("a lighthouse", 3, 5)
    v1 = sdk.run_sync(MODEL_SLUG, prompt="a lighthouse", seed=3, num_inference_steps=5)
    assert image.content == v1.content


def test_submit_answers_absolute_urls_on_the_host_the_client_used(segmind):
    answer = submit(segmind.mock)
    assert answer.status_code == 200
    body = answer.json()
    request_id = body["request_id"]
    assert body == {
        "request_id": request_id,
        "status": "QUEUED",
        "status_url": f"{segmind.mock.url}/v2/requests/{request_id}/status",
        "response_url": f"{segmind.mock.url}/v2/requests/{request_id}",
        "poll_url": f"{segmind.mock.url}/v2/requests/{request_id}/status",
    }


def test_a_job_moves_through_its_states_on_the_render_delay(make_mock, clock):
    mock = make_mock(latency_ms=1000, clock=clock).mock
    body = submit(mock).json()
    headers = {"x-api-key": mock.api_key}

    def status() -> str:
        return str(requests.get(body["status_url"], headers=headers, timeout=30).json()["status"])

    assert status() == "QUEUED"
    clock.advance(0.3)
    assert status() == "PROCESSING"
    result = requests.get(body["response_url"], headers=headers, timeout=30)
    assert "output" not in result.json()
    clock.advance(0.7)
    assert status() == "COMPLETED"
    assert requests.get(body["response_url"], headers=headers, timeout=30).json()["output"]


def test_a_forced_failure_ends_the_job_failed_with_422_and_the_sdk_raises(sdk, segmind):
    segmind.mock.enqueue({"status": 502})
    with pytest.raises(segmind_failure()) as failed:
        sdk.run(MODEL_SLUG, prompt="a lighthouse")
    assert failed.value.detail == f"{MESSAGES[502]} (502)"
    job = failed.value.status_body
    for url in (f"/v2/requests/{job['request_id']}/status", f"/v2/requests/{job['request_id']}"):
        answer = requests.get(
            segmind.mock.url + url, headers={"x-api-key": segmind.mock.api_key}, timeout=30
        )
        assert answer.status_code == 422
        assert answer.json()["status"] == "FAILED"
    assert segmind.mock.credits()[segmind.mock.api_key] == 1_000_000  # not billed


def segmind_failure() -> type[Exception]:
    return segmind.InferenceFailed


def test_prefer_makes_one_job_fail(segmind):
    answer = requests.post(
        f"{segmind.mock.url}{SUBMIT}",
        json={"prompt": "a lighthouse"},
        headers={"x-api-key": segmind.mock.api_key, "Prefer": "code=500"},
        timeout=30,
    )
    assert answer.status_code == 200
    status = requests.get(
        answer.json()["status_url"], headers={"x-api-key": segmind.mock.api_key}, timeout=30
    )
    assert (status.status_code, status.json()["status"]) == (422, "FAILED")


@pytest.mark.parametrize("status", [400, 401, 403, 404, 406, 429])
def test_a_forced_refusal_is_the_submits_own_answer(segmind, status):
    segmind.mock.enqueue({"status": status})
    answer = submit(segmind.mock)
    segmind.assert_error(answer, status)
    assert segmind.mock.credits()[segmind.mock.api_key] == 1_000_000


def test_submit_refuses_what_v1_refuses(sdk, segmind):
    with pytest.raises(SegmindError) as refused:
        sdk.run(MODEL_SLUG, prompt="")
    assert refused.value.status == 400
    segmind.assert_error(submit(segmind.mock, key="sg-nobody"), 401)
    segmind.assert_error(submit(segmind.mock, key=segmind.disabled_key), 403)
    no_key = requests.post(f"{segmind.mock.url}{SUBMIT}", json={"prompt": "x"}, timeout=30)
    segmind.assert_error(no_key, 401, MISSING_KEY_MESSAGE)


def test_a_key_without_credits_is_refused_at_submit(make_mock):
    mock = make_mock(credits=1).mock
    assert submit(mock).status_code == 200
    assert submit(mock).status_code == 406


def test_a_transport_fault_is_played_on_the_submit(segmind):
    segmind.mock.enqueue({"fault": "connection_reset"})
    with pytest.raises(requests.ConnectionError):
        submit(segmind.mock)


def test_jobs_are_their_keys_own(segmind):
    body = submit(segmind.mock).json()
    other = {"x-api-key": segmind.other_key}
    assert requests.get(body["status_url"], headers=other, timeout=30).status_code == 404
    unknown = f"{segmind.mock.url}/v2/requests/6d64edd9-8082-4b04-9d5d-2fa747461283/status"
    mine = {"x-api-key": segmind.mock.api_key}
    assert requests.get(unknown, headers=mine, timeout=30).status_code == 404
    assert requests.get(body["status_url"], timeout=30).status_code == 401


def test_an_output_exists_only_once_its_job_completed(make_mock, clock):
    mock = make_mock(latency_ms=1000, clock=clock).mock
    request_id = submit(mock).json()["request_id"]
    output = f"{mock.url}/v2/outputs/{request_id}.jpg"
    assert requests.get(output, timeout=30).status_code == 404
    clock.advance(1)
    assert requests.get(output, timeout=30).content == render_jpeg("a lighthouse", 3, 4)


def test_other_methods_are_405(segmind):
    answer = requests.get(f"{segmind.mock.url}{SUBMIT}", timeout=30)
    segmind.assert_error(answer, 405, "Method not allowed")
    assert answer.headers["Allow"] == "POST"
    body = submit(segmind.mock).json()
    assert requests.delete(body["status_url"], timeout=30).headers["Allow"] == "GET"


def test_the_journal_shows_the_v2_calls(sdk, segmind):
    sdk.run(MODEL_SLUG, prompt="a lighthouse", seed=3)
    journal = segmind.mock.requests()
    calls = [(entry["method"], entry["path"].split("/")[2]) for entry in journal]
    assert calls[0] == ("POST", MODEL_SLUG)
    assert ("GET", "requests") in calls
    assert all(entry["outcome"] == {"status": 200} for entry in journal)
    assert journal[0]["body"] == {"prompt": "a lighthouse", "seed": 3}


def test_reset_forgets_the_jobs(segmind):
    body = submit(segmind.mock).json()
    segmind.mock.reset()
    mine = {"x-api-key": segmind.mock.api_key}
    assert requests.get(body["status_url"], headers=mine, timeout=30).status_code == 404
