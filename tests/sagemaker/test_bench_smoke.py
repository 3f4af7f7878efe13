"""``benchmarks/bench_gpu_render.py --smoke`` runs the benchmark's code on the CPU, at a tiny size.

The real run needs a GPU; this keeps its code (and the server's torch.compile path, traced
with the eager backend) from rotting on machines without one.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from devkit.functions import ROOT


@pytest.mark.timeout(900)  # a hang guard with room for a busy machine, not a speed check
def test_the_smoke_run_prints_the_table():
    completed = subprocess.run(
        [sys.executable, "benchmarks/bench_gpu_render.py", "--smoke"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-2000:]
    lines = completed.stdout.splitlines()
    assert any(line.startswith("CPU (smoke: tiny pipeline): 4 steps at 64 x 64") for line in lines)
    rows = [line for line in lines if line.startswith(("| eager", "| compiled"))]
    assert len(rows) == 4, completed.stdout
