"""Small helpers every benchmark shares: timing, medians, tables, a deployment's setting, and
figures written as JSON for the cost model."""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from .deployment import function_env
from .functions import ROOT

__all__ = [
    "BENCH_ENV",
    "ROOT",
    "machine",
    "median_ms",
    "table",
    "use_bench_env",
    "write_results",
]

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


def machine() -> str:
    """The machine a figure was measured on, in the words docs/benchmarks.md uses."""
    return f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def write_results(path: Path, benchmark: str, figures: Mapping[str, object]) -> None:
    """Write a run's figures as JSON beside the table it prints.

    The cost model (``benchmarks/cost_model.py``) reads these files, so that docs/cost.md is
    computed from what a benchmark measured rather than from numbers copied by hand, and a
    rerun of the benchmark is all it takes to bring the costs up to date.
    """
    document = {
        "benchmark": benchmark,
        "measured_on": datetime.date.today().isoformat(),
        "machine": machine(),
        "figures": dict(figures),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
