"""Local stack benchmark: what the gateway adds end to end, and how fast ``make run`` answers.

Run with ``.venv/bin/python benchmarks/bench_local_stack.py`` (``make bench`` runs it too).

1. End-to-end latency over HTTP through the local stack (the adapter, the authorizer, the
   render function, moto for S3 and DynamoDB, the mock Segmind with no render delay), for a
   cache hit and for a miss, each against the same request sent straight to the mock in the
   same run: the ratio is the gateway's whole cost over its backend's.
2. Time from starting ``python -m local_stack`` (what ``make run`` runs, on a warm ``.venv``)
   to the first answered render request.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import requests

from devkit.bench import table
from devkit.stack_process import RunningStack, create_key, start, stop

RUNS = 60
STARTS = 3


def started_and_answered() -> tuple[RunningStack, float]:
    """Start the stack; it and the seconds until its first render answered."""
    began = time.perf_counter()
    stack = start()
    answer = requests.post(
        stack.render_url,
        json={"prompt": "first light"},
        headers={"x-api-key": stack.api_key},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return stack, time.perf_counter() - began


def median_ms(call: Callable[[int], object], runs: int = RUNS) -> float:
    samples = []
    for index in range(runs):
        began = time.perf_counter()
        call(index)
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def main() -> None:
    first_answers = []
    for _ in range(STARTS):
        stack, seconds = started_and_answered()
        stop(stack)
        first_answers.append(seconds)

    stack, _ = started_and_answered()
    try:
        gateway, mock = requests.Session(), requests.Session()
        key = {"x-api-key": create_key(stack, "bench", 100_000)[0]}
        mock_key = {"x-api-key": "sg-mock-key"}
        mock_render = stack.mock.url + "/v1/segmind-vega-rt-v1"

        def via_gateway_hit(_: int) -> None:
            gateway.post(stack.render_url, json={"prompt": "hit", "seed": 1}, headers=key)

        def via_gateway_miss(index: int) -> None:
            body = {"prompt": f"miss {index}", "seed": 1}
            assert gateway.post(stack.render_url, json=body, headers=key).status_code == 200

        def direct(index: int) -> None:
            body = {"prompt": f"direct {index}", "seed": 1}
            mock.post(mock_render, json=body, headers=mock_key)

        via_gateway_hit(0)
        direct_ms = median_ms(direct)
        hit_ms = median_ms(via_gateway_hit)
        miss_ms = median_ms(via_gateway_miss)
        direct_again_ms = median_ms(lambda i: direct(i + RUNS))
        baseline = statistics.mean([direct_ms, direct_again_ms])
    finally:
        stop(stack)

    print(
        table(
            ("measure", "median", "baseline (same run)", "ratio"),
            [
                (
                    "cache hit through the local stack",
                    f"{hit_ms:.1f} ms",
                    f"mock Segmind called directly: {baseline:.1f} ms",
                    f"{hit_ms / baseline:.2f}",
                ),
                (
                    "miss through the local stack",
                    f"{miss_ms:.1f} ms",
                    f"mock Segmind called directly: {baseline:.1f} ms",
                    f"{miss_ms / baseline:.2f}",
                ),
                (
                    "`python -m local_stack` to first answered render",
                    f"{statistics.median(first_answers):.2f} s",
                    f"{STARTS} starts",
                    "",
                ),
            ],
        )
    )


if __name__ == "__main__":
    main()
