"""Outage benchmark: a burst of identical requests while the backend answers 502 to everything.

Run with ``.venv/bin/python benchmarks/bench_outage.py`` (``make bench`` runs it too).

32 threads (Lambda instances) send the same render at once to the real render service: the S3
cache, the credit ledger and the render leases in moto, the Segmind backend over ``requests``
against a stand-in (``responses``) that answers every call 502 after 50 ms. With leases, the
burst shares one render and its outcome; the baseline, in the same run, is the same service
without leases, where each request renders (and retries) on its own. Reported: backend calls,
the median and slowest answer, and the statuses. Median of 5 bursts each, taken in turns.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from typing import Any

from devkit.bench import table, use_bench_env

BURST = 32
ROUNDS = 5
BACKEND_SECONDS = 0.05


def burst(service: Any, request: Any, ledger_key: str) -> tuple[list[int], list[float]]:
    from vegart.deadline import Deadline
    from vegart.errors import ContractError

    statuses: list[int] = []
    seconds: list[float] = []
    start = threading.Barrier(BURST)

    def one() -> None:
        start.wait()
        began = time.perf_counter()
        try:
            service.image_for(request, Deadline.after(25.0), "bench", ledger_key)
            statuses.append(200)
        except ContractError as error:
            statuses.append(error.status)
        seconds.append(time.perf_counter() - began)

    threads = [threading.Thread(target=one) for _ in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses, seconds


def main() -> None:
    use_bench_env()
    import boto3
    import responses
    from moto import mock_aws

    from devkit.deployment import TEST_DEPLOYMENT
    from devkit.moto import make_item_writes_atomic
    from devkit.resources import create_resources
    from vegart.contract import parse_render_request
    from vegart.credits import CreditLedger
    from vegart.keys import KeyStore, make_record
    from vegart.render.backends.segmind import SegmindBackend
    from vegart.render.cache import RenderCache
    from vegart.render.leases import RenderLeases
    from vegart.render.service import RenderService

    make_item_writes_atomic()
    deployment = TEST_DEPLOYMENT
    url = "https://api.segmind.test/v1/segmind-vega-rt-v1"

    def down(_: Any) -> tuple[int, dict[str, str], str]:
        time.sleep(BACKEND_SECONDS)
        return 502, {}, '{"error": "upstream down"}'

    results: dict[str, list[tuple[int, list[int], list[float]]]] = {"leases": [], "none": []}
    with mock_aws(), responses.RequestsMock(assert_all_requests_are_fired=False) as upstream:
        upstream.add_callback(responses.POST, url, callback=down)
        create_resources(deployment, segmind_key="k")
        dynamodb, s3 = boto3.client("dynamodb"), boto3.client("s3")
        store = KeyStore(deployment.keys_table, lambda: dynamodb)
        _, record = make_record("bench", 10**6)
        store.add(record)
        cache = RenderCache(deployment.bucket, lambda: s3)
        ledger = CreditLedger(deployment.keys_table, lambda: dynamodb)
        leases = RenderLeases(deployment.leases_table, lambda: dynamodb)
        backend = SegmindBackend("https://api.segmind.test/v1", lambda: "k")
        services = {
            "leases": RenderService(backend, cache, ledger, leases=leases),
            "none": RenderService(backend, cache, ledger),
        }
        for number in range(ROUNDS):
            for name, service in services.items():
                body = f'{{"prompt": "an outage, round {number} {name}", "seed": 1}}'.encode()
                before = len(upstream.calls)
                statuses, seconds = burst(service, parse_render_request(body), record.key_id)
                results[name].append((len(upstream.calls) - before, statuses, seconds))

    def row(name: str, label: str) -> tuple[object, ...]:
        runs = results[name]
        calls = statistics.median(calls for calls, _, _ in runs)
        median = statistics.median(statistics.median(s) for _, _, s in runs)
        slowest = statistics.median(max(s) for _, _, s in runs)
        statuses = Counter(status for _, codes, _ in runs for status in codes)
        shown = ", ".join(f"{count} x {status}" for status, count in sorted(statuses.items()))
        return (label, f"{calls:.0f}", f"{median * 1000:.0f} ms", f"{slowest * 1000:.0f} ms",
                shown)  # fmt: skip

    print(f"{BURST} identical requests at once, backend answering 502 after "
          f"{BACKEND_SECONDS * 1000:.0f} ms; median of {ROUNDS} bursts\n")  # fmt: skip
    print(
        table(
            ("", "backend calls", "median answer", "slowest answer", f"statuses ({ROUNDS} bursts)"),
            [row("leases", "coalesced (render leases)"), row("none", "baseline: no leases")],
        )
    )


if __name__ == "__main__":
    main()
