"""v2 end to end, as ``make run`` serves it: Segmind's SDK submits and polls over HTTP, the
job queue is moto's SQS, the worker runs in Lambda instances of its own (processes) that a
test can kill mid-render, and outputs are presigned URLs of moto's S3."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import segmind
from segmind import SegmindClient
from segmind.exceptions import SegmindError

from devkit.resources import LOCAL_DEPLOYMENT
from devkit.stack_process import RunningStack, aws_client, create_key, start, stop
from devkit.waiting import eventually
from tests.helpers.readme import readme_block
from vegart.contract import IMAGE_SIZE
from vegart.render.jpeg import jpeg_size

SLUG = "segmind-vega-rt-v1"


def client(stack: RunningStack, key: str) -> SegmindClient:
    return SegmindClient(api_key=key, base_url=stack.base_url, timeout=30)


def balance(stack: RunningStack, key_id: str) -> int:
    item = aws_client(stack, "dynamodb").get_item(
        TableName=LOCAL_DEPLOYMENT.keys_table, Key={"key_id": {"S": key_id}}
    )["Item"]
    return int(item["credits"]["N"])


def job_item(stack: RunningStack, request_id: str) -> dict[str, Any]:
    item: dict[str, Any] = aws_client(stack, "dynamodb").get_item(
        TableName=LOCAL_DEPLOYMENT.jobs_table, Key={"request_id": {"S": request_id}}
    )["Item"]
    return item


@pytest.fixture
def key(stack: RunningStack) -> tuple[str, str]:
    return create_key(stack, "v2", 10)


def test_run_returns_the_result_whose_output_is_v1s_image(
    stack: RunningStack, key: tuple[str, str]
) -> None:
    plain, key_id = key
    sdk = client(stack, plain)
    result = sdk.run(SLUG, prompt="a lighthouse at dawn", seed=42)
    assert (result["status"], result["seed"], result["cache"]) == ("COMPLETED", 42, "MISS")
    image = requests.get(result["output"], timeout=30)  # no key: a presigned URL
    assert image.status_code == 200
    assert image.headers["Content-Type"] == "image/jpeg"
    assert jpeg_size(image.content) == (IMAGE_SIZE, IMAGE_SIZE)
    v1 = requests.post(
        stack.render_url,
        json={"prompt": "a lighthouse at dawn", "seed": 42},
        headers={"x-api-key": plain},
        timeout=30,
    )
    assert v1.headers["x-cache"] == "HIT"  # the job's render, shared
    assert v1.content == image.content
    assert balance(stack, key_id) == 9  # the job's render, and the hit free
    assert len(stack.mock.requests()) == 1


def test_submit_async_and_wait(stack: RunningStack, key: tuple[str, str]) -> None:
    job = client(stack, key[0]).submit_async(SLUG, prompt="a fox", seed=1)
    assert job.status_url.startswith(stack.url + "/v2/requests/")
    assert job.submit_response["status"] == "QUEUED"
    result = job.wait(timeout=120, interval=0.2)
    assert result["request_id"] == job.request_id
    assert requests.get(result["output"], timeout=30).content.startswith(b"\xff\xd8")


def test_a_failed_render_raises_inference_failed_and_gives_the_credit_back(
    stack: RunningStack, key: tuple[str, str]
) -> None:
    plain, key_id = key
    stack.mock.enqueue({"status": 400, "times": 1})
    with pytest.raises(segmind.InferenceFailed) as failed:
        client(stack, plain).submit_async(SLUG, prompt="a fox", seed=2).wait(interval=0.2)
    assert failed.value.detail == "Invalid parameters or request format"
    assert failed.value.status_body["status"] == "FAILED"
    assert balance(stack, key_id) == 10


def test_validation_errors_raise_segmind_error_400_at_submit(
    stack: RunningStack, key: tuple[str, str]
) -> None:
    with pytest.raises(SegmindError) as refused:
        client(stack, key[0]).run(SLUG, prompt="a fox", num_inference_steps=99)
    assert refused.value.status == 400
    assert "num_inference_steps" in str(refused.value.detail)
    assert stack.mock.requests() == []


def test_another_keys_job_is_not_found(stack: RunningStack, key: tuple[str, str]) -> None:
    job = client(stack, key[0]).submit_async(SLUG, prompt="a private fox", seed=3)
    other, _ = create_key(stack, "other", 1)
    answer = requests.get(job.status_url, headers={"x-api-key": other}, timeout=30)
    assert answer.status_code == 404
    assert requests.get(job.status_url, timeout=30).status_code == 401  # no key at all
    job.wait(interval=0.2)


# -- crashes ---------------------------------------------------------------------------------


@pytest.fixture
def crashing_stack() -> Iterator[RunningStack]:
    """A stack whose first worker invocation is killed (SIGKILL) mid-render: the mock takes
    3 s a render, the kill comes 0.7 to 1.5 s in, and a message comes back 10 s after it
    was received."""
    running = start(
        "--render-delay-ms",
        "3000",
        "--parameter",
        "JobDeadlineSeconds=10",
        "--kill-workers",
        "1",
        "--kill-between-ms",
        "700,1500",
    )
    try:
        yield running
    finally:
        stop(running)


@pytest.mark.timeout(300)
def test_a_worker_killed_mid_render_leaves_a_job_that_completes_once_for_one_credit(
    crashing_stack: RunningStack,
) -> None:
    stack = crashing_stack
    plain, key_id = create_key(stack, "crash", 5)
    job = client(stack, plain).submit_async(SLUG, prompt="a fox that survives", seed=4)
    result = job.wait(timeout=240, interval=0.5)
    assert result["status"] == "COMPLETED"
    item = job_item(stack, job.request_id)
    assert int(item["attempts"]["N"]) == 2  # the killed claim, then the one that finished
    renders = [entry for entry in stack.mock.requests() if entry["method"] == "POST"]
    assert len(renders) == 2  # the killed worker's render reached the mock, and was lost
    assert balance(stack, key_id) == 4
    assert jpeg_size(requests.get(result["output"], timeout=30).content) == (1024, 1024)


@pytest.fixture
def always_crashing_stack() -> Iterator[RunningStack]:
    """A stack whose every worker invocation is killed: messages end in the dead-letter queue."""
    running = start(
        "--render-delay-ms",
        "2000",
        "--parameter",
        "JobDeadlineSeconds=3",
        "--kill-rate",
        "1",
        "--kill-between-ms",
        "100,300",
    )
    try:
        yield running
    finally:
        stop(running)


@pytest.mark.timeout(300)
def test_a_job_whose_worker_always_dies_ends_failed_and_refunded(
    always_crashing_stack: RunningStack,
) -> None:
    stack = always_crashing_stack
    plain, key_id = create_key(stack, "doomed", 5)
    job = client(stack, plain).submit_async(SLUG, prompt="a doomed fox", seed=5)
    assert balance(stack, key_id) == 4  # held
    with pytest.raises(segmind.InferenceFailed) as failed:
        job.wait(timeout=240, interval=0.5)
    assert failed.value.detail == "The render could not be completed; please submit it again"
    assert int(job_item(stack, job.request_id)["attempts"]["N"]) >= 1
    eventually(lambda: balance(stack, key_id) == 5, "the held credit given back")


def test_the_readme_sdk_example_runs_against_the_stack(stack: RunningStack) -> None:
    code = readme_block("python", "SegmindClient(")
    code = code.replace("http://127.0.0.1:3000/v1", stack.base_url)
    code = code.replace("vg_local-demo-key-not-a-secret-0000", stack.api_key)
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["result"]["output"].startswith(stack.aws_url + "/")
