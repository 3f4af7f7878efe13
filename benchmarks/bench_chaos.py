"""Chaos benchmark: the chaos run (``devkit.chaos``) against a local stack of its own.

Run with ``.venv/bin/python benchmarks/bench_chaos.py`` (``--requests``, ``--concurrency``,
``--seed``, ``--hangs``); it prints the figures for docs/benchmarks.md and every invariant the
run broke, and exits 1 if there was one. ``tests/e2e/test_chaos.py`` runs the same run.
"""

from __future__ import annotations

import argparse
import sys

from devkit.chaos import run_chaos
from devkit.stack_process import start, stop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed", type=int, default=20260401)
    parser.add_argument("--hangs", type=int, default=2)
    args = parser.parse_args(argv)
    stack = start()
    try:
        report = run_chaos(
            stack,
            requests=args.requests,
            concurrency=args.concurrency,
            seed=args.seed,
            hangs=args.hangs,
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
