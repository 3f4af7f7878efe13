"""Small helpers every benchmark shares: timing, medians and the environment of a deployment."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: A deployment's environment with nothing real behind it, for code that reads settings.
BENCH_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "POWERTOOLS_SERVICE_NAME": "vegart-gateway",
    "POWERTOOLS_METRICS_NAMESPACE": "VegaRT",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "VEGART_BACKEND": "segmind",
    "SEGMIND_BASE_URL": "https://api.segmind.test/v1",
    "SEGMIND_SECRET_ID": "vegart/segmind-api-key",
    "CACHE_BUCKET": "vegart-bench-cache",
    "KEYS_TABLE": "vegart-bench-keys",
    "LEASES_TABLE": "vegart-bench-render-leases",
}


def use_bench_env() -> None:
    os.environ.update(BENCH_ENV)
    for path in (ROOT, ROOT / "layers" / "shared"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


def median_ms(fn: Callable[[], object], repeat: int, warmup: int = 3) -> float:
    """Median wall time of ``fn`` in milliseconds, after a few unmeasured warm-up calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def table(header: tuple[str, ...], rows: list[tuple[object, ...]]) -> str:
    """A markdown table, for pasting into docs/benchmarks.md."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
