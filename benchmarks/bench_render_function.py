"""Function benchmark: cold-start imports, per-request overhead, AWS clients per start.

Run with ``make bench`` or ``.venv/bin/python benchmarks/bench_render_function.py``. Figures
are medians, each next to a baseline measured in the same run, because the machine is shared.
``--json benchmarks/results/render_function.json`` also writes them for the cost model
(``benchmarks/cost_model.py``, docs/cost.md).

1. Cold start: a fresh interpreter importing each handler (render, authorizer), against one
   importing only boto3 (every function's: ``benchmarks/bench_cold_start.py``).
2. Overhead: a warm handler answering a cache hit and a miss from in-memory stand-ins for S3
   and the backend (so their time is excluded), against Powertools' resolver answering the
   same event with a constant JPEG from a bare route.
3. AWS clients: how many boto3 clients one cold start creates while serving a request.
4. Logs: the bytes a warm request writes to CloudWatch Logs at the deployed settings (log
   level INFO, metrics on), for a hit, a miss and the key authorizer, which CloudWatch bills
   by the gigabyte. Lambda's own START, END and REPORT lines are not the function's to count.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from devkit.bench import (
    BENCH_ENV,
    ROOT,
    cold_import_ms,
    median_ms,
    table,
    use_bench_env,
    write_results,
)
from devkit.deployment import function_env

COLD_RUNS = 9
WARM_REPEAT = 2000


def cold_start() -> tuple[float, float, float]:
    """Median import times of boto3, the render handler and the authorizer handler."""
    boto, app, auth = [], [], []
    for _ in range(COLD_RUNS):  # interleaved, so that noise hits all alike
        boto.append(cold_import_ms(statement="import boto3"))
        app.append(cold_import_ms(ROOT / "functions/render/app.py"))
        auth.append(cold_import_ms(ROOT / "functions/authorizer/app.py"))
    return statistics.median(boto), statistics.median(app), statistics.median(auth)


class _MemoryCache:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self.objects.get(key)

    def put(self, key: str, image: bytes, metadata: dict[str, str]) -> bool:
        self.objects[key] = image
        return True


class _InstantBackend:
    name = "segmind"
    model = "segmind-vega-rt-v1"

    def __init__(self, image: bytes) -> None:
        self.image = image

    def render(self, spec: Any, deadline: Any) -> bytes:
        return self.image


def overhead() -> tuple[float, float, float]:
    use_bench_env()
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

    from devkit.context import still_context
    from devkit.events import api_event, header
    from devkit.functions import load_function
    from mock_server import render_jpeg
    from vegart.render.service import RenderService

    image = render_jpeg("bench", 1, 4)
    fn = load_function("render")
    cache = _MemoryCache()
    # The warm instance's render service, with stand-ins inside.
    fn.wiring.render_service = RenderService(_InstantBackend(image), cache)  # type: ignore[arg-type]
    context = still_context()
    hit_event = api_event({"prompt": "a lighthouse", "seed": 1})
    first = fn.lambda_handler(hit_event, context)
    again = fn.lambda_handler(hit_event, context)
    assert first["statusCode"] == again["statusCode"] == 200, first
    assert header(again, "x-cache") == "HIT", again

    counter = iter(range(10**9))

    def miss() -> None:
        fn.lambda_handler(api_event({"prompt": "a lighthouse", "seed": next(counter) + 2}), context)

    bare = APIGatewayRestResolver()

    @bare.post("/v1/segmind-vega-rt-v1")
    def constant() -> Response:
        return Response(200, "image/jpeg", image)

    hit_ms = median_ms(lambda: fn.lambda_handler(hit_event, context), WARM_REPEAT)
    miss_ms = median_ms(miss, WARM_REPEAT)
    bare_ms = median_ms(lambda: bare.resolve(hit_event, context), WARM_REPEAT)
    return bare_ms, hit_ms, miss_ms


_CLIENT_PROBE = """
import json
import botocore.session, responses
from moto import mock_aws
from devkit.context import still_context
from devkit.demo import DEMO_KEY
from devkit.deployment import TEST_DEPLOYMENT
from devkit.events import api_event
from devkit.functions import load_function
from devkit.moto import add_key, create_deployment_resources, key_store
from mock_server import render_jpeg
made = []
original = botocore.session.Session.create_client
def counting(self, service_name, *args, **kwargs):
    made.append(service_name)
    return original(self, service_name, *args, **kwargs)
with mock_aws():
    create_deployment_resources(TEST_DEPLOYMENT, segmind_key="k")
    add_key(key_store(TEST_DEPLOYMENT.keys_table), DEMO_KEY, 10)
    botocore.session.Session.create_client = counting
    fn = load_function("render")
    with responses.RequestsMock() as upstream:
        upstream.add(responses.POST, "https://api.segmind.test/v1/segmind-vega-rt-v1",
                     body=render_jpeg("x", 1, 4), content_type="image/jpeg")
        for seed in (1, 1, 2):
            fn.lambda_handler(api_event({"prompt": "x", "seed": seed}), still_context())
print(json.dumps(made))
"""


def clients_per_cold_start() -> list[str]:
    env = {**os.environ, **BENCH_ENV}
    done = subprocess.run(
        [sys.executable, "-c", _CLIENT_PROBE], capture_output=True, text=True, check=True, env=env
    )
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


_LOG_PROBE = """
import sys
import responses
from moto import mock_aws
from devkit.context import still_context
from devkit.demo import DEMO_KEY
from devkit.deployment import TEST_DEPLOYMENT
from devkit.events import api_event, key_check_event
from devkit.functions import load_function
from devkit.moto import add_key, create_deployment_resources, key_store
from mock_server import render_jpeg
# Names as long as a deployed stack's, since every log line carries the function's name and ARN.
render_context = still_context("vegart-RenderFunction-0AbCdEfGhIjK")
authorizer_context = still_context("vegart-AuthorizerFunction-0AbCdEfGhIjK", 5.0)
def mark(label):
    sys.stdout.write("\\n@@" + label + "\\n")
    sys.stdout.flush()
with mock_aws():
    create_deployment_resources(TEST_DEPLOYMENT, segmind_key="k")
    add_key(key_store(TEST_DEPLOYMENT.keys_table), DEMO_KEY, 1000)
    render = load_function("render")
    authorizer = load_function("authorizer")
    with responses.RequestsMock() as upstream:
        upstream.add(responses.POST, "https://api.segmind.test/v1/segmind-vega-rt-v1",
                     body=render_jpeg("x", 1, 4), content_type="image/jpeg")
        render.lambda_handler(api_event({"prompt": "cold", "seed": 0}), render_context)
        authorizer.lambda_handler(key_check_event(DEMO_KEY), authorizer_context)
        for seed in range(1, {runs} + 1):
            for label in ("miss", "hit"):
                mark(label)
                render.lambda_handler(api_event({"prompt": "a lighthouse", "seed": seed}),
                                      render_context)
            mark("authorizer")
            authorizer.lambda_handler(key_check_event(DEMO_KEY), authorizer_context)
    mark("end")
"""
LOG_RUNS = 5


def log_bytes() -> dict[str, float]:
    """Median bytes a warm request writes to its log, by kind, at the deployed settings.

    A fresh interpreter with the deployment's environment as the template sets it (INFO,
    metrics on), not the quiet one of the other measures; the cold first requests, which add
    a cold-start metric, are made before the first mark and not counted.
    """
    env = {**os.environ, **function_env(POWERTOOLS_LOG_LEVEL="INFO")}
    env.pop("POWERTOOLS_METRICS_DISABLED", None)
    done = subprocess.run(
        [sys.executable, "-c", _LOG_PROBE.replace("{runs}", str(LOG_RUNS))],
        capture_output=True, check=True, env=env, cwd=ROOT,
    )  # fmt: skip
    sizes: dict[str, list[int]] = {}
    for chunk in done.stdout.split(b"\n@@")[1:]:
        label, _, written = chunk.partition(b"\n")
        sizes.setdefault(label.decode(), []).append(len(written))
    return {label: statistics.median(counts) for label, counts in sizes.items() if label != "end"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    boto_ms, app_ms, auth_ms = cold_start()
    bare_ms, hit_ms, miss_ms = overhead()
    clients = clients_per_cold_start()
    logs = log_bytes()
    print(
        table(
            ("measure", "median", "baseline (same run)", "ratio", "goal"),
            [
                (
                    "cold-start import of the render handler",
                    f"{app_ms:.0f} ms",
                    f"`import boto3`: {boto_ms:.0f} ms",
                    f"{app_ms / boto_ms:.2f}",
                    "<= 1.35",
                ),
                (
                    "cold-start import of the authorizer handler",
                    f"{auth_ms:.0f} ms",
                    f"`import boto3`: {boto_ms:.0f} ms",
                    f"{auth_ms / boto_ms:.2f}",
                    "<= 1.2",
                ),
                (
                    "warm request, cache hit (S3 excluded)",
                    f"{hit_ms:.2f} ms",
                    f"bare resolver, constant JPEG: {bare_ms:.2f} ms",
                    f"{hit_ms / bare_ms:.2f}",
                    "< 5 ms",
                ),
                (
                    "warm request, miss (S3, backend excluded)",
                    f"{miss_ms:.2f} ms",
                    f"bare resolver, constant JPEG: {bare_ms:.2f} ms",
                    f"{miss_ms / bare_ms:.2f}",
                    "< 5 ms",
                ),
                (
                    "AWS clients created per cold start (3 requests)",
                    str(len(clients)),
                    ", ".join(sorted(clients)),
                    "",
                    "one per service",
                ),
                (
                    "log bytes a warm request writes: hit / miss / authorizer",
                    f"{logs['hit']:.0f} / {logs['miss']:.0f} / {logs['authorizer']:.0f} B",
                    "",
                    "",
                    "",
                ),
            ],
        )
    )
    if args.json:
        figures = {
            "cold_start_boto3_ms": round(boto_ms, 1),
            "cold_start_render_ms": round(app_ms, 1),
            "cold_start_authorizer_ms": round(auth_ms, 1),
            "warm_bare_resolver_ms": round(bare_ms, 4),
            "warm_hit_ms": round(hit_ms, 4),
            "warm_miss_ms": round(miss_ms, 4),
            "clients_per_cold_start": len(clients),
            "log_bytes_hit": logs["hit"],
            "log_bytes_miss": logs["miss"],
            "log_bytes_authorizer": logs["authorizer"],
        }
        write_results(args.json, "bench_render_function", figures)


if __name__ == "__main__":
    main()
