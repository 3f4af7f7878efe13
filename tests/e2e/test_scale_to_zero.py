"""Scale to zero end to end: ``VEGART_BACKEND=sagemaker make run`` with its endpoint at zero
copies, over HTTP all the way (client, gateway, boto3, the SageMaker stand-in).

A v1 request is answered 429 with ``Retry-After`` at once; a v2 job submitted meanwhile waits
in the queue, in the worker's own Lambda instance, and completes once the endpoint has a copy.
The job's next look comes after the worker's real poll interval (15 s): this test waits for
the job's status, never for a time.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from devkit.resources import LOCAL_ENDPOINT
from devkit.sagemaker_endpoint import SageMakerEndpoint
from devkit.stack_process import RunningStack, create_key, start, stop
from devkit.waiting import eventually
from vegart.jobs.worker import CAPACITY_POLL_SECONDS


@pytest.fixture(scope="module")
def endpoint() -> Iterator[SageMakerEndpoint]:
    with SageMakerEndpoint.running(LOCAL_ENDPOINT, LOCAL_ENDPOINT, copies=0) as stand_in:
        yield stand_in


@pytest.fixture(scope="module")
def gpu_stack(endpoint: SageMakerEndpoint) -> Iterator[RunningStack]:
    stack = start(env={"VEGART_BACKEND": "sagemaker", "SAGEMAKER_LOCAL_URL": endpoint.url})
    try:
        yield stack
    finally:
        stop(stack)


@pytest.mark.timeout(300)
def test_v1_gets_429_at_once_and_a_job_waits_for_the_copy(
    gpu_stack: RunningStack, endpoint: SageMakerEndpoint
) -> None:
    http = requests.Session()
    http.headers["x-api-key"], _ = create_key(gpu_stack, "gpu", 100)  # no rate limit in the way
    fox = {"prompt": "a fox at the edge of the woods", "seed": 11}

    answer = http.post(gpu_stack.render_url, json=fox, timeout=60)
    assert answer.status_code == 429, answer.text
    assert answer.headers["Retry-After"].isdigit()
    assert set(answer.json()) == {"error"}
    assert endpoint.no_capacity_failures == 1  # one call: nothing retried inside the request

    submitted = http.post(f"{gpu_stack.url}/v2/segmind-vega-rt-v1", json=fox, timeout=60)
    assert submitted.status_code == 200, submitted.text
    status_url = submitted.json()["status_url"]
    eventually(lambda: endpoint.no_capacity_failures >= 2, "the worker's first look")

    def waiting() -> dict[str, str] | None:
        shown: dict[str, str] = http.get(status_url, timeout=60).json()
        return shown if shown.get("waiting_for") else None

    # Back in the queue after the refused look, saying why.
    assert eventually(waiting, "the job queued again")["status"] == "QUEUED"

    endpoint.scale_to(1)

    def finished() -> str | None:
        status: str = http.get(status_url, timeout=60).json()["status"]
        return status if status in ("COMPLETED", "FAILED") else None

    assert eventually(finished, "the job's end", timeout=CAPACITY_POLL_SECONDS + 90) == "COMPLETED"
    result = http.get(submitted.json()["response_url"], timeout=60).json()
    assert result["cache"] == "MISS"
    image = requests.get(result["output"], timeout=60)
    assert image.content[:2] == b"\xff\xd8"
    # v1 renders now too, from the cache the job filled.
    again = http.post(gpu_stack.render_url, json=fox, timeout=60)
    assert (again.status_code, again.headers["x-cache"]) == (200, "HIT")
