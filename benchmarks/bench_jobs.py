"""v2 benchmark: what an asynchronous render costs against v1's synchronous one, same run.

Run with ``.venv/bin/python benchmarks/bench_jobs.py`` (``--runs``, ``--render-ms``). Against a
local stack of its own (``python -m local_stack``, as ``make run``), the mock rendering in
``--render-ms`` (Segmind's 1.7 s by default), warm:

1. submit latency: ``POST /v2/segmind-vega-rt-v1`` to its 200, for a fresh render;
2. submit to ``COMPLETED``: the same job, polled every 20 ms, against a v1 request for a
   render of its own in the same run (alternating, so that both meet the same machine); the
   ratio is what going through the queue and a worker adds;
3. status-call latency: ``GET /v2/requests/<id>/status`` of a completed job;
4. a cached image: submit to ``COMPLETED`` (answered at once, no worker).
"""

from __future__ import annotations

import argparse
import statistics
import time

import requests

from devkit.bench import table
from devkit.stack_process import create_key, start, stop

POLL_SECONDS = 0.02


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--render-ms", type=int, default=1700)
    args = parser.parse_args()
    stack = start("--render-delay-ms", str(args.render_ms))
    try:
        key, _ = create_key(stack, "bench", 10_000)
        http = requests.Session()
        http.headers["x-api-key"] = key
        submit_url = f"{stack.url}/v2/segmind-vega-rt-v1"

        def v1(index: int) -> float:
            began = time.perf_counter()
            answer = http.post(stack.render_url, json={"prompt": f"v1 {index}"}, timeout=60)
            assert answer.status_code == 200, answer.text
            return time.perf_counter() - began

        def v2(prompt: str) -> tuple[float, float, str]:
            began = time.perf_counter()
            answer = http.post(submit_url, json={"prompt": prompt, "seed": 1}, timeout=60)
            assert answer.status_code == 200, answer.text
            submitted = time.perf_counter() - began
            body = answer.json()
            status = body["status"]
            while status != "COMPLETED":
                time.sleep(POLL_SECONDS)
                status = http.get(body["status_url"], timeout=60).json()["status"]
                assert status != "FAILED"
            return submitted, time.perf_counter() - began, body["status_url"]

        v2("warm-up")  # the worker's first instance starts: a cold start, not measured
        v1(-1)
        submits, completes, v1s = [], [], []
        status_url = ""
        for index in range(args.runs):
            submitted, completed, status_url = v2(f"v2 {index}")
            submits.append(submitted)
            completes.append(completed)
            v1s.append(v1(index))
        reads = []
        for _ in range(args.runs * 4):
            began = time.perf_counter()
            assert http.get(status_url, timeout=60).status_code == 200
            reads.append(time.perf_counter() - began)
        cached = [v2("v2 0")[1] for _ in range(args.runs)]
    finally:
        stop(stack)

    def ms(samples: list[float]) -> str:
        return f"{statistics.median(samples) * 1000:.0f} ms"

    ratio = statistics.median(completes) / statistics.median(v1s)
    print(f"{args.runs} runs each, mock render {args.render_ms} ms, medians")
    print(
        table(
            ("measure", "median"),
            [
                ("v2 submit (POST to its 200)", ms(submits)),
                ("v2 submit to COMPLETED (polled every 20 ms)", ms(completes)),
                ("v1 render of its own, same run (baseline)", ms(v1s)),
                ("v2 to COMPLETED / v1", f"{ratio:.2f}"),
                ("v2 status call", ms(reads)),
                ("v2 of a cached image, submit to COMPLETED", ms(cached)),
            ],
        )
    )


if __name__ == "__main__":
    main()
