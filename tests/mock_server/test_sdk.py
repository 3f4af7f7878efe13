"""Segmind's own Python SDK, pointed at the mock, sees what it would see from Segmind."""

from __future__ import annotations

import pytest
from segmind import SegmindClient
from segmind.exceptions import SegmindError

from mock_server import DOCUMENTED_STATUSES, MODEL_SLUG, render_jpeg
from mock_server.contract import MESSAGES, MISSING_KEY_MESSAGE


@pytest.fixture
def sdk(segmind):
    client = SegmindClient(api_key=segmind.mock.api_key, base_url=segmind.mock.base_url, timeout=30)
    yield client
    client._client.close()


def test_run_sync_gets_the_image(sdk):
    response = sdk.run_sync(MODEL_SLUG, prompt="a lighthouse", seed=3, num_inference_steps=5)
    assert response.status_code == 200
    assert response.content == render_jpeg("a lighthouse", 3, 5)
    assert response.headers["x-seed-value"] == "3"


def test_run_sync_with_base64(sdk):
    response = sdk.run_sync(MODEL_SLUG, prompt="a lighthouse", seed=3, base64=True)
    assert set(response.json()) == {"image"}


def test_the_sdk_sends_its_key_and_json_body(sdk, segmind):
    sdk.run_sync(MODEL_SLUG, prompt="a lighthouse", seed=3)
    (entry,) = segmind.mock.requests()
    headers = {name.lower(): value for name, value in entry["headers"].items()}  # as sent
    assert headers["x-api-key"] == segmind.mock.api_key
    assert headers["user-agent"].startswith("segmind-python-sdk/")
    assert entry["body"] == {"prompt": "a lighthouse", "seed": 3}


@pytest.mark.parametrize("status", sorted(DOCUMENTED_STATUSES))
def test_each_queued_error_is_a_segmind_error_with_status_and_detail(sdk, segmind, status):
    segmind.mock.enqueue({"status": status})
    with pytest.raises(SegmindError) as caught:
        sdk.run_sync(MODEL_SLUG, prompt="a lighthouse")
    assert (caught.value.status, caught.value.detail) == (status, MESSAGES[status])


@pytest.mark.parametrize(
    ("key", "detail"),
    [
        (None, MISSING_KEY_MESSAGE),
        ("sg-no-such-key", MESSAGES[401]),
    ],
)
def test_natural_key_errors_reach_the_sdk(segmind, monkeypatch, key, detail):
    monkeypatch.delenv("SEGMIND_API_KEY", raising=False)
    client = SegmindClient(api_key=key, base_url=segmind.mock.base_url, timeout=30)
    with pytest.raises(SegmindError) as caught:
        client.run_sync(MODEL_SLUG, prompt="a lighthouse")
    client._client.close()
    assert (caught.value.status, caught.value.detail) == (401, detail)


def test_a_validation_error_reaches_the_sdk_naming_the_field(sdk):
    with pytest.raises(SegmindError) as caught:
        sdk.run_sync(MODEL_SLUG, prompt="a lighthouse", num_inference_steps=50)
    assert caught.value.status == 400
    assert "num_inference_steps" in caught.value.detail


def test_an_unknown_model_reaches_the_sdk_as_a_404(sdk):
    with pytest.raises(SegmindError) as caught:
        sdk.run_sync("no-such-model", prompt="a lighthouse")
    assert (caught.value.status, caught.value.detail) == (404, MESSAGES[404])
