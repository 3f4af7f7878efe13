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

import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time

import requests
from _common import ROOT, table

RUNS = 60
STARTS = 3


def start(env_extra: dict[str, str]) -> tuple[subprocess.Popen[str], dict[str, str], float]:
    """Start the stack; its description and the seconds until its first render answered."""
    env = {**os.environ, "VEGART_PORT": "0", "VEGART_AWS_PORT": "0", "VEGART_MOCK_PORT": "0"}
    env.update(env_extra)
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "local_stack", "--json", "--render-delay-ms", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    info = json.loads(process.stdout.readline())
    threading.Thread(target=process.stdout.read, daemon=True).start()
    answer = requests.post(
        info["render_url"],
        json={"prompt": "first light"},
        headers={"x-api-key": info["api_key"]},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return process, info, time.perf_counter() - started


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)


def fast_key(info: dict[str, str]) -> str:
    """A key whose usage plan will not throttle the benchmark, made as an operator would."""
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "vegart_admin",
            "--stack",
            info["stack"],
            "--endpoint-url",
            info["aws_url"],
            "keys",
            "create",
            "--label",
            "bench",
            "--credits",
            "100000",
            "--rate",
            "10000",
            "--burst",
            "5000",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(made.stdout)["api_key"]


def median_ms(call: object, runs: int = RUNS) -> float:
    samples = []
    for index in range(runs):
        began = time.perf_counter()
        call(index)  # type: ignore[operator]
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def main() -> None:
    first_answers = []
    for _ in range(STARTS):
        process, _, seconds = start({})
        stop(process)
        first_answers.append(seconds)

    process, info, _ = start({})
    try:
        gateway, mock = requests.Session(), requests.Session()
        key = {"x-api-key": fast_key(info)}
        mock_key = {"x-api-key": "sg-mock-key"}
        mock_render = info["mock_url"] + "/v1/segmind-vega-rt-v1"

        def via_gateway_hit(_: int) -> None:
            gateway.post(info["render_url"], json={"prompt": "hit", "seed": 1}, headers=key)

        def via_gateway_miss(index: int) -> None:
            body = {"prompt": f"miss {index}", "seed": 1}
            assert gateway.post(info["render_url"], json=body, headers=key).status_code == 200

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
        stop(process)

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
