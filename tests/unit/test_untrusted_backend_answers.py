"""What a backend answers is untrusted input: any header or body gives a contract answer.

``Retry-After`` and Segmind's ``x-rate-limit-reset-at-utc`` are read to decide how long to
wait. Values such as ``1e400``, ``NaN``, a 400-digit number or a date in the year 9999 once
overflowed the time arithmetic and turned a 429 into a 500 with no retry. Error bodies are
read for their message, and a cached object for an image: neither may take a request down.
"""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime

import boto3
import pytest
import responses
from botocore.stub import Stubber
from hypothesis import given, settings
from hypothesis import strategies as st

from devkit.clock import FakeClock
from vegart.deadline import Deadline
from vegart.errors import BadGateway, BadRequest, RateLimited
from vegart.render.backends.retry import MAX_SERVER_WAIT_SECONDS, RetryPolicy, server_wait
from vegart.render.backends.sagemaker import SageMakerBackend
from vegart.render.backends.segmind import SegmindBackend
from vegart.render.spec import RenderSpec

BASE = "https://api.segmind.test/v1"
URL = f"{BASE}/segmind-vega-rt-v1"
SPEC = RenderSpec("segmind", "segmind-vega-rt-v1", "a fox", 42, 4, 1024, 1024)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
PROPERTIES = settings(max_examples=400, database=None, deadline=None)
HOSTILE = [
    "1e400", "-1e400", "NaN", "nan", "inf", "-inf", "9" * 400, "9" * 5000, "-5", "0x10",
    "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59",
    "Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 01 Jan 0001 00:00:00 +2359", "1" * 30 + ".5",
    "", " ", "\u0663", "\uff11\uff12", "1_000", "1e308", "-1e308", "4.9e-324",
    "18446744073709551616",
]  # fmt: skip
#: Text that can travel in an HTTP header value.
HEADER_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=60
) | st.sampled_from(HOSTILE)


def in_range(wait: float | None) -> bool:
    return wait is None or (math.isfinite(wait) and 0.0 <= wait <= MAX_SERVER_WAIT_SECONDS)


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("name", ["Retry-After", "x-rate-limit-reset-at-utc"])
def test_hostile_values_give_a_bounded_wait_or_none(name: str, value: str) -> None:
    assert in_range(server_wait({name: value}, NOW))


@PROPERTIES
@given(retry_after=HEADER_TEXT, reset_at=HEADER_TEXT)
def test_any_header_text_gives_a_bounded_wait_or_none(retry_after: str, reset_at: str) -> None:
    assert in_range(server_wait({"Retry-After": retry_after}, NOW))
    assert in_range(server_wait({"x-rate-limit-reset-at-utc": reset_at}, NOW))
    assert in_range(
        server_wait({"Retry-After": retry_after, "x-rate-limit-reset-at-utc": reset_at}, NOW)
    )


def test_readable_values_still_mean_what_they_say() -> None:
    assert server_wait({"Retry-After": "7"}, NOW) == 7.0
    assert server_wait({"Retry-After": "Tue, 01 Dec 2026 12:00:30 GMT"}, NOW) == 30.0
    assert server_wait({"x-rate-limit-reset-at-utc": "2026-12-01T12:00:05Z"}, NOW) == 5.0
    assert server_wait({"x-rate-limit-reset-at-utc": str(NOW.timestamp() + 9)}, NOW) == 9.0
    assert server_wait({"x-rate-limit-reset-at-utc": "2026-12-01T11:00:00Z"}, NOW) == 0.0
    assert server_wait({"Retry-After": "9" * 400}, NOW) == MAX_SERVER_WAIT_SECONDS


def backend(clock: FakeClock) -> SegmindBackend:
    policy = RetryPolicy(max_attempts=3)
    return SegmindBackend(BASE, lambda: "k", policy=policy, rng=random.Random(5), sleep=clock.sleep)


@PROPERTIES
@given(name=st.sampled_from(["Retry-After", "x-rate-limit-reset-at-utc"]), value=HEADER_TEXT)
def test_a_429_with_any_header_is_a_429_with_a_sane_retry_after(name: str, value: str) -> None:
    clock = FakeClock()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as upstream:
        for _ in range(3):
            upstream.add(
                responses.POST,
                URL,
                status=429,
                body=json.dumps({"error": "slow down"}),
                headers={name: value},
            )
        with pytest.raises(RateLimited) as caught:
            backend(clock).render(SPEC, Deadline.after(20.0, clock))
    retry_after = int(caught.value.headers["Retry-After"])
    assert 1 <= retry_after <= MAX_SERVER_WAIT_SECONDS
    assert clock.now - 1000.0 <= 20.0, "no wait past the deadline"


def test_a_400_whose_body_nests_too_deep_is_a_400_with_a_message_of_ours() -> None:
    clock = FakeClock()
    with responses.RequestsMock() as upstream:
        upstream.add(responses.POST, URL, status=400, body="[" * 100_000)
        with pytest.raises(BadRequest) as caught:
            backend(clock).render(SPEC, Deadline.after(20.0, clock))
    assert caught.value.message == BadRequest.default_message


def test_a_model_error_whose_message_nests_too_deep_is_a_fault_not_a_crash() -> None:
    sagemaker = boto3.client("sagemaker-runtime", region_name="us-east-1")
    with Stubber(sagemaker) as stubber:
        for _ in range(2):
            stubber.add_client_error(
                "invoke_endpoint",
                service_error_code="ModelError",
                http_status_code=424,
                response_meta={},
                modeled_fields={"OriginalMessage": "[" * 100_000, "OriginalStatusCode": 400},
            )
        policy = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0, min_attempt_seconds=0)
        with pytest.raises(BadGateway):
            SageMakerBackend("ep", lambda _: sagemaker, policy=policy, sleep=lambda _: None).render(
                SPEC, Deadline.after(20.0)
            )
