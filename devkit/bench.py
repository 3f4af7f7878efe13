"""Small helpers every benchmark shares: timing, medians, tables and a deployment's setting."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence

from .deployment import function_env
from .functions import ROOT

__all__ = ["BENCH_ENV", "ROOT", "median_ms", "table", "use_bench_env"]

#: The test deployment's environment, quiet: no metrics documents, warnings and errors only.
BENCH_ENV = function_env(POWERTOOLS_METRICS_DISABLED="true", POWERTOOLS_LOG_LEVEL="WARNING")


def use_bench_env() -> None:
    """Set :data:`BENCH_ENV` in this process, before anything reads its settings."""
    os.environ.update(BENCH_ENV)


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


def table(header: tuple[str, ...], rows: Sequence[Sequence[object]]) -> str:
    """A markdown table, for pasting into docs/benchmarks.md."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
