"""Small helpers every benchmark shares: timing, medians, tables, a deployment's setting, and
figures written as JSON for the cost model."""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from .deployment import function_env
from .functions import ROOT

__all__ = [
    "BENCH_ENV",
    "ROOT",
    "cold_import_ms",
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


_IMPORT_PROBE = """
import time
started = time.perf_counter()
{statement}
print((time.perf_counter() - started) * 1000)
"""
_LOAD_HANDLER = (
    "import importlib.util as u; s = u.spec_from_file_location('app', {app!r}); "
    "m = u.module_from_spec(s); s.loader.exec_module(m)"
)


def cold_import_ms(
    app: Path | None = None, *, env: Mapping[str, str] | None = None, statement: str = ""
) -> float:
    """A cold start's import, in a fresh interpreter with :data:`BENCH_ENV`: a function's
    ``app.py`` (as Lambda loads it), or ``statement`` (``import boto3``, the baseline).

    ``env`` adds to the environment (``PYTHONPATH`` for another revision's tree).
    """
    code = _LOAD_HANDLER.format(app=str(app)) if app is not None else statement
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE.format(statement=code)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **BENCH_ENV, **(env or {})},
    )
    return float(done.stdout.strip().splitlines()[-1])


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
