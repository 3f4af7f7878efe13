"""v2 chaos benchmark: ``devkit.chaos.run_job_chaos`` against a stack of its own, whose job
workers are killed at random.

Run with ``.venv/bin/python benchmarks/bench_chaos_jobs.py`` (``--jobs``, ``--concurrency``,
``--seed``, ``--kill-rate``); it prints the figures for docs/benchmarks.md and every invariant
the run broke, and exits 1 if there was one. ``tests/e2e/test_chaos_jobs.py`` runs the same.
"""

from __future__ import annotations

import argparse
import sys

from devkit.chaos import run_job_chaos
from devkit.stack_process import start, stop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=12)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--kill-rate", type=float, default=0.05)
    args = parser.parse_args(argv)
    stack = start(
        *("--parameter", "JobDeadlineSeconds=8"),
        *("--kill-rate", str(args.kill_rate), "--kill-between-ms", "0,800"),
        *("--chaos-seed", str(args.seed)),
    )
    try:
        report = run_job_chaos(
            stack,
            jobs=args.jobs,
            concurrency=args.concurrency,
            seed=args.seed,
            progress=lambda line: print(line, file=sys.stderr),
        )
    finally:
        stop(stack)
    print(report.markdown())
    for violation in report.violations:
        print(f"- VIOLATION {violation}")
    return 1 if report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
