"""The Segmind backend over real HTTP against the mock Segmind: every status, fault and sequence.

What the backend did is read back from the mock's journal, the way a test author would.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from devkit.clock import no_wait
from mock_server import MockSegmind, render_jpeg
from vegart.deadline import Deadline
from vegart.errors import BadGateway, BadRequest, ContractError, GatewayTimeout, RateLimited
from vegart.render.backends.retry import RetryPolicy
from vegart.render.backends.segmind import SegmindBackend
from vegart.render.spec import RenderSpec

SPEC = RenderSpec("segmind", "segmind-vega-rt-v1", "a lighthouse at dusk", 758143278, 4, 1024, 1024)
FAST = RetryPolicy(max_attempts=4, base_delay=0.02, max_delay=0.1, min_attempt_seconds=0.3)


@pytest.fixture(scope="module")
def server() -> Iterator[MockSegmind]:
    with MockSegmind(seed=1) as mock:
        yield mock


@pytest.fixture
def segmind(server: MockSegmind) -> MockSegmind:
    server.reset()
    return server


def backend_of(mock: MockSegmind, key: str | None = None) -> SegmindBackend:
    """The Segmind backend on ``mock`` (with its own key unless told), waiting out no back-off."""
    api_key = mock.api_key if key is None else key
    return SegmindBackend(mock.base_url, lambda: api_key, policy=FAST, sleep=no_wait)


@pytest.fixture
def backend(segmind: MockSegmind) -> SegmindBackend:
    return backend_of(segmind)


def render(backend: SegmindBackend, seconds: float = 10.0) -> bytes:
    return backend.render(SPEC, Deadline.after(seconds))


def outcomes(segmind: MockSegmind) -> list[dict[str, Any]]:
    return [entry["outcome"] for entry in segmind.requests()]


def test_a_render_is_the_mocks_image_for_that_prompt_seed_and_steps(
    backend: SegmindBackend, segmind: MockSegmind
) -> None:
    assert render(backend) == render_jpeg(SPEC.prompt, SPEC.seed, SPEC.num_inference_steps)
    (entry,) = segmind.requests()
    assert entry["headers"]["x-api-key"] == segmind.api_key
    assert entry["body"]["seed"] == SPEC.seed


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequest),
        (401, BadGateway),
        (403, BadGateway),
        (404, BadGateway),
        (406, BadGateway),
        (504, GatewayTimeout),
    ],
)
def test_final_statuses_are_mapped_without_retry(
    backend: SegmindBackend, segmind: MockSegmind, status: int, error: type[ContractError]
) -> None:
    segmind.enqueue({"status": status})
    with pytest.raises(error):
        render(backend)
    assert outcomes(segmind) == [{"status": status}]


@pytest.mark.parametrize("status", [500, 502])
def test_server_errors_are_retried_then_a_502(
    backend: SegmindBackend, segmind: MockSegmind, status: int
) -> None:
    segmind.enqueue({"status": status, "times": 4})
    with pytest.raises(BadGateway):
        render(backend)
    assert outcomes(segmind) == [{"status": status}] * 4


def test_429_429_then_200_is_one_image_after_three_calls(
    backend: SegmindBackend, segmind: MockSegmind
) -> None:
    segmind.enqueue({"status": 429, "times": 2})
    assert render(backend) == render_jpeg(SPEC.prompt, SPEC.seed, SPEC.num_inference_steps)
    assert outcomes(segmind) == [{"status": 429}, {"status": 429}, {"status": 200}]


def test_a_limit_that_persists_is_a_429(backend: SegmindBackend, segmind: MockSegmind) -> None:
    segmind.enqueue({"status": 429, "times": 4, "headers": {"Retry-After": "1"}})
    with pytest.raises(RateLimited) as caught:
        render(backend)
    assert caught.value.headers["Retry-After"] == "1"
    assert len(segmind.requests()) == 4


@pytest.mark.parametrize(
    "fault", ["connection_reset", "empty_response", "truncated_body", "garbage_then_close"]
)
def test_a_transport_fault_is_retried_and_then_the_image_served(
    backend: SegmindBackend, segmind: MockSegmind, fault: str
) -> None:
    segmind.enqueue({"fault": fault})
    assert render(backend) == render_jpeg(SPEC.prompt, SPEC.seed, SPEC.num_inference_steps)
    assert outcomes(segmind) == [{"fault": fault}, {"status": 200}]


@pytest.mark.parametrize(
    "fault", ["connection_reset", "empty_response", "truncated_body", "garbage_then_close"]
)
def test_a_transport_fault_that_persists_is_a_502(
    backend: SegmindBackend, segmind: MockSegmind, fault: str
) -> None:
    segmind.enqueue({"fault": fault, "times": 4})
    with pytest.raises(BadGateway):
        render(backend)
    assert outcomes(segmind) == [{"fault": fault}] * 4


def test_a_hang_is_a_504_inside_the_deadline(backend: SegmindBackend, segmind: MockSegmind) -> None:
    # A hang lasts as long as the connection: only the deadline can end the call.
    segmind.enqueue({"fault": "hang"})
    with pytest.raises(GatewayTimeout):
        render(backend, seconds=1.0)
    assert outcomes(segmind) == [{"fault": "hang"}]


def test_a_render_slower_than_the_deadline_is_a_504_before_its_answer() -> None:
    # A mock of its own, so that the answer held back never reaches another test's journal.
    with MockSegmind(seed=1) as slow:
        slow.enqueue({"delay_ms": 600_000})
        backend = backend_of(slow)
        with pytest.raises(GatewayTimeout):
            render(backend, seconds=0.8)
        (entry,) = slow.requests()
        assert "outcome" not in entry, "the backend gave up while the answer was still coming"


def test_a_connection_refused_is_a_502(segmind: MockSegmind) -> None:
    with MockSegmind() as gone:
        url = gone.base_url
    backend = SegmindBackend(url, lambda: "k", policy=FAST, sleep=no_wait)
    with pytest.raises(BadGateway):
        render(backend, seconds=2)


def test_naturally_reached_account_errors_are_502s() -> None:
    with MockSegmind(credits=1, disabled_keys=("sg-disabled",)) as segmind:
        unknown = backend_of(segmind, "sg-unknown")
        disabled = backend_of(segmind, "sg-disabled")
        mine = backend_of(segmind)
        for backend in (unknown, disabled):
            with pytest.raises(BadGateway):
                render(backend)
        render(mine)
        with pytest.raises(BadGateway):  # out of credits: 406 upstream
            render(mine)
        assert outcomes(segmind) == [
            {"status": 401},
            {"status": 403},
            {"status": 200},
            {"status": 406},
        ]


def test_a_natural_rate_limit_is_honoured_through_its_reset_time() -> None:
    opened = time.time()  # the window stays open for the whole test: the mock's clock stands
    with MockSegmind(rate_limit=1, clock=lambda: opened) as segmind:
        backend = backend_of(segmind)
        render(backend)
        # The window resets 60 s after it opened: far beyond a 10 s deadline, so a 429 at once.
        with pytest.raises(RateLimited) as caught:
            render(backend, seconds=10)
        assert int(caught.value.headers["Retry-After"]) >= 1
        assert outcomes(segmind) == [{"status": 200}, {"status": 429}]
