"""``sam build`` benchmark: the deploy path's build, against the one step it cannot avoid.

Run with ``.venv/bin/python benchmarks/bench_sam_build.py`` (``--runs``). Each run builds the
whole template with the SAM CLI that ``make test`` installs (``.venv/sam-cli``), no Docker,
into a fresh folder; the baseline, in the same run, is the layer's dependencies alone fetched
by pip for Lambda's platform (what the layer's Makefile runs), so the ratio is what SAM and
the six functions' builds add to it. Both use pip's cache, as an operator's second build does.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from devkit.bench import ROOT, table

SAM = ROOT / ".venv" / "sam-cli" / "bin" / "sam"
LAYER = ROOT / "layers" / "shared"


def timed(command: list[str], cwd: Path) -> float:
    began = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True, env=_env())
    return time.perf_counter() - began


def _env() -> dict[str, str]:
    return {**os.environ, "SAM_CLI_TELEMETRY": "0", "PYTHON": sys.executable}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not SAM.exists():
        raise SystemExit(f"{SAM} is missing: run `make venv`")
    builds, fetches = [], []
    with tempfile.TemporaryDirectory() as scratch:
        for run in range(args.runs):
            build_dir = Path(scratch) / f"build-{run}" / "build"
            builds.append(
                timed(
                    [str(SAM), "build", "--template-file", "template.yaml",
                     "--build-dir", str(build_dir)],
                    ROOT,
                )
            )  # fmt: skip
            target = Path(scratch) / f"layer-{run}" / "python"
            fetches.append(
                timed(
                    [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile",
                     "--disable-pip-version-check", "--target", str(target),
                     "--platform", "manylinux2014_aarch64", "--implementation", "cp",
                     "--python-version", "3.13", "--only-binary=:all:",
                     "-r", "requirements.txt"],
                    LAYER,
                )
            )  # fmt: skip
    build, fetch = statistics.median(builds), statistics.median(fetches)
    print(f"{args.runs} runs each, medians, pip's cache warm")
    print(
        table(
            ("measure", "median"),
            [
                ("sam build, the whole template (no Docker)", f"{build:.1f} s"),
                ("the layer's wheels alone, pip (baseline)", f"{fetch:.1f} s"),
                ("sam build / baseline", f"{build / fetch:.2f}"),
            ],
        )
    )


if __name__ == "__main__":
    main()
