"""``benchmarks/bench_gpu_render.py --smoke`` runs the benchmark's code on the CPU, quickly.

The real run needs a GPU; this keeps its code (and the server's torch.compile path, traced
with the eager backend) from rotting on machines without one.
"""

from __future__ import annotations

import subprocess
import sys
import time

from tests.sagemaker.conftest import ROOT


def test_the_smoke_run_prints_the_table_in_under_30_seconds():
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "benchmarks/bench_gpu_render.py", "--smoke"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert completed.returncode == 0, completed.stderr[-2000:]
    lines = completed.stdout.splitlines()
    assert any(line.startswith("CPU (smoke: tiny pipeline): 4 steps at 64 x 64") for line in lines)
    rows = [line for line in lines if line.startswith(("| eager", "| compiled"))]
    assert len(rows) == 4, completed.stdout
    assert elapsed < 30, f"the smoke run took {elapsed:.1f} s"
