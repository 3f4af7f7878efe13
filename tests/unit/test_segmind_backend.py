"""The Segmind backend against every row of the contract's backend table (with ``responses``)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
import responses

from devkit.clock import FakeClock
from mock_server import render_jpeg
from vegart.contract import parse_render_request
from vegart.deadline import Deadline
from vegart.errors import BadGateway, BadRequest, GatewayTimeout, RateLimited
from vegart.render.backends.retry import RetryPolicy
from vegart.render.backends.segmind import SegmindBackend
from vegart.render.service import RenderService
from vegart.render.spec import RenderSpec

BASE = "https://api.segmind.test/v1"
URL = f"{BASE}/segmind-vega-rt-v1"
SPEC = RenderSpec("segmind", "segmind-vega-rt-v1", "a fox", 42, 4, 1024, 1024)
IMAGE = render_jpeg("a fox", 42, 4)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def backend(clock: FakeClock) -> SegmindBackend:
    return SegmindBackend(
        BASE,
        lambda: "sg-gateway-key",
        policy=RetryPolicy(max_attempts=4),
        rng=random.Random(7),
        sleep=clock.sleep,
    )


@pytest.fixture
def upstream() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def render(backend: SegmindBackend, clock: FakeClock, seconds: float = 20.0) -> bytes:
    return backend.render(SPEC, Deadline.after(seconds, clock))


def queue(upstream: responses.RequestsMock, *answers: dict[str, object]) -> None:
    for answer in answers:
        upstream.add(responses.POST, URL, **answer)  # type: ignore[arg-type]


def ok() -> dict[str, object]:
    return {"body": IMAGE, "status": 200, "content_type": "image/jpeg"}


def error(status: int, message: str = "nope", **headers: str) -> dict[str, object]:
    return {"json": {"error": message}, "status": status, "headers": headers}


def test_a_render_sends_the_request_with_the_gateways_key(
    backend: SegmindBackend, clock: FakeClock, upstream: responses.RequestsMock
) -> None:
    queue(upstream, ok())
    assert render(backend, clock) == IMAGE
    sent = upstream.calls[0].request
    assert sent.headers["x-api-key"] == "sg-gateway-key"
    assert json.loads(sent.body) == {
        "prompt": "a fox",
        "num_inference_steps": 4,
        "seed": 42,
        "img_width": 1024,
        "img_height": 1024,
        "base64": False,
    }


def test_400_is_the_callers_400_with_the_backends_message(
    backend: SegmindBackend, clock: FakeClock, upstream: responses.RequestsMock
) -> None:
    queue(upstream, error(400, "prompt contains banned words"))
    with pytest.raises(BadRequest, match="prompt contains banned words"):
        render(backend, clock)
    assert len(upstream.calls) == 1


@pytest.mark.parametrize("status", [401, 403, 406, 404, 405, 418])
def test_the_gateways_own_account_problems_are_a_502(
    backend: SegmindBackend, clock: FakeClock, upstream: responses.RequestsMock, status: int
) -> None:
    queue(upstream, error(status, "Unauthorized. API key is invalid"))
    with pytest.raises(BadGateway) as caught:
        render(backend, clock)
    assert "API key" not in caught.value.message  # the client never hears about our key
    assert len(upstream.calls) == 1


def test_an_account_problem_is_logged_and_counted_for_an_alarm(
    backend: SegmindBackend,
    clock: FakeClock,
    upstream: responses.RequestsMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from vegart.observability import metrics

    metrics.clear_metrics()
    queue(upstream, error(406, "Insufficient credits"))
    with pytest.raises(BadGateway):
        render(backend, clock)
    assert "UpstreamAccountErrors" in metrics.metric_set
    metrics.clear_metrics()


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried_then_a_502(
    backend: SegmindBackend, clock: FakeClock, upstream: responses.RequestsMock, status: int
) -> None:
    queue(upstream, *[error(status)] * 4)
    with pytest.raises(BadGateway):
        render(backend, clock)
    assert len(upstream.calls) == 4
    assert len(clock.sleeps) == 3


def test_a_server_error_then_an_image_is_an_image(
    backend: SegmindBackend, clock: FakeClock, upstream: responses.RequestsMock
) -> None:
    queue(upstream, error(503), error(502), ok())
    assert render(backend, clock) == IMAGE
    assert len(upstream.calls) == 3


def test_backoff_grows_exponentially_with_jitter(
    clock: FakeClock, upstream: responses.RequestsMock
) -> None:
    policy = RetryPolicy(max_attempts=6, base_delay=0.2, max_delay=1.0)
    backend = SegmindBackend(
        BASE, lambda: "k", policy=policy, rng=random.Random(1), sleep=clock.sleep
    )
    queue(upstream, *[error(500)] * 6)
    with pytest.raises(BadGateway):
        render(backend, clock)
    caps = [min(1.0, 0.2 * 2**n) for n in range(5)]
    assert len(clock.sleeps) == 5
    assert all(0 <= wait <= cap for wait, cap in zip(clock.sleeps, caps, strict=True))


def test_504_is_a_504_without_retry(
    backend: SegmindBackend, clock: FakeClock, upstream: responses.RequestsMock
) -> None:
    queue(upstream, error(504))
    with pytest.raises(GatewayTimeout):
        render(backend, clock)
    assert len(upstream.calls) == 1


def test_a_read_timeout_is_a_504(
    backend: SegmindBackend, clock: FakeClock, upstream: responses.RequestsMock
) -> None:
    queue(upstream, {"body": requests.exceptions.ReadTimeout("slow")})
    with pytest.raises(GatewayTimeout):
        render(backend, clock)


@pytest.mark.parametrize(
    ("first", "expected"),
    [
        (error(502), BadGateway),
        ({"body": requests.exceptions.ConnectionError("reset")}, BadGateway),
        (error(429), RateLimited),
    ],
    ids=["502", "reset", "429"],
)
def test_a_failure_then_no_answer_in_time_is_the_failure_not_a_504(
    backend: SegmindBackend,
    clock: FakeClock,
    upstream: responses.RequestsMock,
    first: dict[str, object],
    expected: type[Exception],
) -> None:
    """The backend failed first; that the retry then ran out of time does not make it a 504."""
    queue(upstream, first, {"body": requests.exceptions.ReadTimeout("slow")})
    with pytest.raises(expected) as caught:
        render(backend, clock)
    assert not isinstance(caught.value, GatewayTimeout)
    assert len(upstream.calls) == 2


def test_a_failure_then_an_oversleep_past_the_deadline_is_a_502(
    clock: FakeClock, upstream: responses.RequestsMock
) -> None:
    """A busy machine wakes from the back-off after the deadline: the answer is still 502."""

    def oversleep(seconds: float) -> None:
        clock.sleep(seconds + 5.0)

    backend = SegmindBackend(BASE, lambda: "k", rng=random.Random(3), sleep=oversleep)
    queue(upstream, *[error(502)] * 4)
    with pytest.raises(BadGateway) as caught:
        render(backend, clock, seconds=2.0)
    assert not isinstance(caught.value, GatewayTimeout)
    assert len(upstream.calls) == 1


@pytest.mark.parametrize(
    "fault",
    [
        requests.exceptions.ConnectionError("reset"),
        requests.exceptions.ChunkedEncodingError("cut off"),
        requests.exceptions.ConnectTimeout("no route"),
    ],
)
def test_transport_faults_are_retried_then_a_502(
    backend: SegmindBackend, clock: FakeClock, upstream: responses.RequestsMock, fault: Exception
) -> None:
    queue(upstream, *[{"body": fault}] * 4)
    with pytest.raises(BadGateway):
        render(backend, clock)
    assert len(upstream.calls) == 4


def test_a_transport_fault_then_an_image_is_an_image(
    backend: SegmindBackend, clock: FakeClock, upstream: responses.RequestsMock
) -> None:
    queue(upstream, {"body": requests.exceptions.ConnectionError("reset")}, ok())
    assert render(backend, clock) == IMAGE


@pytest.mark.parametrize(
    "body", [b"", b"<html>oops</html>", IMAGE[:5000], render_jpeg("x", 1, 4)[:-2] + b"\x00\x00"]
)
def test_a_200_that_is_not_a_valid_jpeg_is_a_502(
    backend: SegmindBackend, clock: FakeClock, upstream: responses.RequestsMock, body: bytes
) -> None:
    # The check is the render service's, for every backend: render through it.
    queue(upstream, *[{"body": body, "status": 200, "content_type": "image/jpeg"}] * 4)
    service = RenderService(backend, cache=None)
    request = parse_render_request(b'{"prompt": "a fox", "seed": 42}')
    with pytest.raises(BadGateway):
        service.image_for(request, Deadline.after(20.0, clock), "req-1")


def test_429_is_retried_honouring_retry_after(
    backend: SegmindBackend, clock: FakeClock, upstream: responses.RequestsMock
) -> None:
    queue(upstream, error(429, **{"Retry-After": "2"}), error(429, **{"Retry-After": "3"}), ok())
    assert render(backend, clock) == IMAGE
    assert clock.sleeps == [2.0, 3.0]


def test_429_is_retried_honouring_segminds_reset_time(
    backend: SegmindBackend, clock: FakeClock, upstream: responses.RequestsMock
) -> None:
    reset_at = (datetime.now(UTC) + timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    queue(upstream, error(429, **{"x-rate-limit-reset-at-utc": reset_at + "Z"}), ok())
    assert render(backend, clock) == IMAGE
    assert 1.5 < clock.sleeps[0] <= 3.0


def test_429_without_a_hint_backs_off(
    backend: SegmindBackend, clock: FakeClock, upstream: responses.RequestsMock
) -> None:
    queue(upstream, error(429), error(429), ok())
    assert render(backend, clock) == IMAGE
    assert len(clock.sleeps) == 2


def test_a_limit_that_outlasts_the_deadline_is_a_429_at_once(
    backend: SegmindBackend, clock: FakeClock, upstream: responses.RequestsMock
) -> None:
    queue(upstream, error(429, **{"Retry-After": "40"}))
    with pytest.raises(RateLimited) as caught:
        render(backend, clock, seconds=20)
    assert caught.value.headers["Retry-After"] == "40"
    assert clock.sleeps == []


def test_a_limit_that_persists_is_a_429_with_retry_after(
    backend: SegmindBackend, clock: FakeClock, upstream: responses.RequestsMock
) -> None:
    queue(upstream, *[error(429, **{"Retry-After": "1"})] * 4)
    with pytest.raises(RateLimited) as caught:
        render(backend, clock)
    assert caught.value.status == 429
    assert int(caught.value.headers["Retry-After"]) >= 1
    assert len(upstream.calls) == 4


def test_retries_never_sleep_past_the_deadline(
    backend: SegmindBackend, clock: FakeClock, upstream: responses.RequestsMock
) -> None:
    queue(upstream, *[error(503)] * 4)
    deadline = Deadline.after(1.2, clock)
    with pytest.raises(BadGateway):
        backend.render(SPEC, deadline)
    assert clock.now <= deadline.expires_at
    assert len(upstream.calls) < 4


def test_no_time_left_is_a_504_without_a_call(
    backend: SegmindBackend, clock: FakeClock, upstream: responses.RequestsMock
) -> None:
    with pytest.raises(GatewayTimeout):
        render(backend, clock, seconds=0)
    assert len(upstream.calls) == 0


def test_an_oversized_body_is_a_502(
    backend: SegmindBackend, clock: FakeClock, upstream: responses.RequestsMock
) -> None:
    queue(upstream, {"body": b"\xff\xd8" + b"\x00" * (9 * 1024 * 1024), "status": 200})
    with pytest.raises(BadGateway):
        render(backend, clock)


def test_the_session_is_reused_across_renders(
    backend: SegmindBackend, clock: FakeClock, upstream: responses.RequestsMock
) -> None:
    queue(upstream, ok(), ok())
    render(backend, clock)
    session = backend._session
    render(backend, clock)
    assert backend._session is session
