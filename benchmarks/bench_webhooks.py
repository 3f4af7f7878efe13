"""Webhook benchmark: how soon a receiver hears of a job, against polling, same run; and what
signing and one attempt cost against a bare POST.

Run with ``.venv/bin/python benchmarks/bench_webhooks.py`` (``--runs``, ``--render-ms``).

1. submit to event received: a job with a ``webhook`` to a receiver on loopback, against a
   job of its own polled every 200 ms (a front end's usual pace) and every 20 ms (a busy
   one), alternating, against a local stack of its own (``python -m local_stack``, as
   ``make run``) whose mock renders in ``--render-ms``;
2. signing an event's body with one secret, and with two (a rotation's grace), against
   ``json.dumps`` of the same document;
3. one attempt in process (check the target, sign, POST, read the answer) against a bare
   ``http.client`` POST of the same body to the same receiver.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import requests

from devkit.bench import table
from devkit.stack_process import create_key, start, stop
from devkit.webhook_receiver import WebhookReceiver
from vegart.webhooks.signatures import new_secret, signature_header
from vegart.webhooks.targets import TargetPolicy
from vegart.webhooks.transport import post

DOCUMENT = {
    "request_id": "5b0b3f0e-7c1e-4b8e-9d2f-3a6c1f0e9b7d",
    "status": "COMPLETED",
    "created_at": "2026-12-02T10:00:00.000Z",
    "updated_at": "2026-12-02T10:00:01.800Z",
    "started_at": "2026-12-02T10:00:00.050Z",
    "completed_at": "2026-12-02T10:00:01.800Z",
    "output": "https://vegart-render-cache.s3.amazonaws.com/v1/" + "a" * 64 + ".jpg?" + "X" * 420,
    "output_expires_at": "2026-12-02T11:00:01.900Z",
    "seed": 42,
    "cache": "MISS",
    "metrics": {"queue_seconds": 0.05, "render_seconds": 1.75},
}


def timed(action: Callable[[], object], runs: int) -> float:
    """The median seconds of ``action``."""
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        action()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def end_to_end(runs: int, render_ms: int) -> dict[str, float]:
    stack = start("--render-delay-ms", str(render_ms))
    try:
        key, _ = create_key(stack, "bench", 10_000)
        http_session = requests.Session()
        http_session.headers["x-api-key"] = key
        submit_url = f"{stack.url}/v2/segmind-vega-rt-v1"
        hooked: list[float] = []
        polled: dict[float, list[float]] = {0.2: [], 0.02: []}
        with WebhookReceiver.running() as receiver:

            def with_webhook(prompt: str) -> float:
                seen = len(receiver.deliveries)
                began = time.perf_counter()
                body = {"prompt": prompt, "webhook": receiver.url}
                answer = http_session.post(submit_url, json=body, timeout=60)
                assert answer.status_code == 200, answer.text
                receiver.wait_for(seen + 1, timeout=120)
                return time.perf_counter() - began

            def polling(prompt: str, interval: float) -> float:
                began = time.perf_counter()
                answer = http_session.post(submit_url, json={"prompt": prompt}, timeout=60)
                assert answer.status_code == 200, answer.text
                status_url = answer.json()["status_url"]
                while http_session.get(status_url, timeout=60).json()["status"] != "COMPLETED":
                    time.sleep(interval)
                return time.perf_counter() - began

            with_webhook("warm-up hooked")  # the sender's and worker's first instances
            polling("warm-up polled", 0.02)
            for index in range(runs):
                hooked.append(with_webhook(f"hooked {index}"))
                for interval, samples in polled.items():
                    samples.append(polling(f"polled {interval} {index}", interval))
    finally:
        stop(stack)
    return {
        "hooked": statistics.median(hooked),
        "polled 200 ms": statistics.median(polled[0.2]),
        "polled 20 ms": statistics.median(polled[0.02]),
    }


def in_process(runs: int) -> dict[str, float]:
    body = json.dumps(DOCUMENT, separators=(",", ":")).encode()
    one, two = [new_secret()], [new_secret(), new_secret()]
    figures = {
        "dumps": timed(lambda: json.dumps(DOCUMENT, separators=(",", ":")), runs * 100),
        "sign one": timed(lambda: signature_header(one, "msg_x", 1796000000, body), runs * 100),
        "sign two": timed(lambda: signature_header(two, "msg_x", 1796000000, body), runs * 100),
    }
    policy = TargetPolicy(allow_loopback=True)
    with WebhookReceiver.running() as receiver:
        url = urlsplit(receiver.url)

        def bare() -> None:
            connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
            connection.request("POST", url.path, body=body)
            connection.getresponse().read()
            connection.close()

        def attempt() -> None:
            destination = policy.destination(policy.parse(receiver.url))
            headers = {"webhook-signature": signature_header(one, "msg_x", 1796000000, body)}
            assert post(destination, body, headers, timeout=10).delivered

        bare()
        attempt()
        figures["bare post"] = timed(bare, runs * 10)
        figures["attempt"] = timed(attempt, runs * 10)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--render-ms", type=int, default=1700)
    args = parser.parse_args()
    local = in_process(args.runs)
    stacked = end_to_end(args.runs, args.render_ms)

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.0f} ms"

    def us(seconds: float) -> str:
        return f"{seconds * 1e6:,.1f} µs"

    print(f"{args.runs} runs each, mock render {args.render_ms} ms, medians")
    print(
        table(
            ("measure", "median"),
            [
                ("submit to event received (webhook)", ms(stacked["hooked"])),
                ("submit to COMPLETED, polled every 200 ms", ms(stacked["polled 200 ms"])),
                ("submit to COMPLETED, polled every 20 ms", ms(stacked["polled 20 ms"])),
                (
                    "webhook / polled every 200 ms",
                    f"{stacked['hooked'] / stacked['polled 200 ms']:.2f}",
                ),
                (
                    "webhook / polled every 20 ms",
                    f"{stacked['hooked'] / stacked['polled 20 ms']:.2f}",
                ),
                ("json.dumps of the event (baseline)", us(local["dumps"])),
                ("sign it, one secret", us(local["sign one"])),
                ("sign it, two secrets (rotation)", us(local["sign two"])),
                ("bare http.client POST to loopback (baseline)", us(local["bare post"])),
                ("one attempt: check, sign, POST, read", us(local["attempt"])),
                ("attempt / bare POST", f"{local['attempt'] / local['bare post']:.2f}"),
            ],
        )
    )


if __name__ == "__main__":
    main()
