"""Scale-to-zero benchmark: what a caller meets while the GPU endpoint has no copy, same run.

Run with ``.venv/bin/python benchmarks/bench_scale_to_zero.py`` (``--runs``, ``--jobs``,
``--wake-seconds``). A local stack of its own on ``Backend=sagemaker`` (as
``VEGART_BACKEND=sagemaker make run``), its endpoint the SageMaker stand-in of
``devkit.sagemaker_endpoint``, which answers as SageMaker does at zero copies and renders at
once with a copy (so that what is measured is the gateway, not a GPU):

1. v1 at zero copies: request to its 429, against a v1 render with a copy up (the baseline:
   a miss through the same endpoint, same run). The 429 must be immediate, never a wait on a
   copy that takes minutes;
2. v2 at zero copies: a job submitted, the copy "started" ``--wake-seconds`` later; how long
   after the copy is up the job completes (what the worker's poll adds), against a job
   submitted with the copy up, and the refused calls (NoCapacityInvocationFailures) a waiting
   job makes.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import requests

from devkit.bench import table
from devkit.resources import LOCAL_ENDPOINT
from devkit.sagemaker_endpoint import SageMakerEndpoint
from devkit.stack_process import create_key, start, stop

POLL_SECONDS = 0.1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=20, help="v1 requests of each kind")
    parser.add_argument("--jobs", type=int, default=3, help="v2 jobs of each kind")
    parser.add_argument("--wake-seconds", type=float, default=5.0)
    args = parser.parse_args()
    with SageMakerEndpoint.running(LOCAL_ENDPOINT, LOCAL_ENDPOINT, copies=0) as endpoint:
        stack = start(env={"VEGART_BACKEND": "sagemaker", "SAGEMAKER_LOCAL_URL": endpoint.url})
        try:
            http = requests.Session()
            http.headers["x-api-key"], _ = create_key(stack, "bench", 10_000)
            submit_url = f"{stack.url}/v2/segmind-vega-rt-v1"

            def v1(prompt: str, expected: int) -> float:
                began = time.perf_counter()
                answer = http.post(stack.render_url, json={"prompt": prompt}, timeout=60)
                assert answer.status_code == expected, answer.text
                return time.perf_counter() - began

            def job(prompt: str) -> float:
                """Submit; seconds until the job is COMPLETED, from now."""
                answer = http.post(submit_url, json={"prompt": prompt, "seed": 1}, timeout=60)
                assert answer.status_code == 200, answer.text
                status_url = answer.json()["status_url"]
                while (status := http.get(status_url, timeout=60).json()["status"]) != "COMPLETED":
                    assert status != "FAILED"
                    time.sleep(POLL_SECONDS)
                return time.perf_counter()

            v1("warm-up at zero", 429)
            at_zero = [v1(f"at zero {i}", 429) for i in range(args.runs)]
            endpoint.scale_to(1)
            v1("warm-up with a copy", 200)
            job("warm-up job")  # the worker's first instance starts: not measured
            with_copy = [v1(f"with a copy {i}", 200) for i in range(args.runs)]
            warm_jobs = []
            for i in range(args.jobs):
                began = time.perf_counter()
                warm_jobs.append(job(f"job with a copy {i}") - began)
            waits, refused = [], []
            for i in range(args.jobs):
                endpoint.scale_to(0)
                before = endpoint.no_capacity_failures
                copy_up = threading.Timer(args.wake_seconds, endpoint.scale_to, args=(1,))
                woken = time.perf_counter() + args.wake_seconds
                copy_up.start()
                waits.append(job(f"job at zero {i}") - woken)
                copy_up.join()
                refused.append(endpoint.no_capacity_failures - before)
        finally:
            stop(stack)

    def ms(samples: list[float]) -> str:
        return f"{statistics.median(samples) * 1000:,.0f} ms"

    print(f"{args.runs} v1 requests and {args.jobs} jobs of each kind, medians")
    print(
        table(
            ("measure", "median"),
            [
                ("v1 at zero copies, to its 429", ms(at_zero)),
                ("v1 with a copy up, a miss (baseline)", ms(with_copy)),
                (
                    "v1 at zero / with a copy",
                    f"{statistics.median(at_zero) / statistics.median(with_copy):.2f}",
                ),
                ("v2 job with a copy up, submit to COMPLETED (baseline)", ms(warm_jobs)),
                (
                    f"v2 job at zero, COMPLETED after the copy is up ({args.wake_seconds:g} s)",
                    ms(waits),
                ),
                ("refused calls a waiting job made", f"{statistics.median(refused):.0f}"),
            ],
        )
    )


if __name__ == "__main__":
    main()
