"""Cold-start benchmark: each function's import, as a new Lambda instance pays it.

Run with ``.venv/bin/python benchmarks/bench_cold_start.py`` (``--runs N``, ``--against REV``).

A fresh interpreter loads each function's ``app.py`` as Lambda does, with the deployment's
environment; the baseline, in the same run, is a fresh interpreter importing only boto3, which
every function needs. The runs are interleaved (boto3, then each function, then again), so
that the machine's noise falls on all alike, and the ratios are of medians. ``--against REV``
measures the functions of an older revision too (a worktree of it, its own ``vegart`` first on
the path), in the same interleaving.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
from pathlib import Path

from devkit.bench import ROOT, cold_import_ms, machine, table

FUNCTIONS = ("render", "authorizer", "jobs", "job_worker", "job_dead_letters", "webhook_sender")
#: The most each function's import may cost, in imports of boto3.
GOALS = {
    "render": 1.35,
    "authorizer": 1.2,
    "jobs": 1.4,
    "job_worker": 1.4,
    "job_dead_letters": 1.4,
    "webhook_sender": 1.4,
}


def tree_env(checkout: Path) -> dict[str, str]:
    """The environment that makes a checkout's own packages the ones imported."""
    paths = [checkout / "layers" / "shared", checkout / "admin", checkout]
    return {"PYTHONPATH": os.pathsep.join(str(path) for path in paths)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=9, help="samples of each (default 9)")
    parser.add_argument("--against", metavar="REV", help="also measure this revision's")
    args = parser.parse_args()
    trees = {"this tree": ROOT}
    with tempfile.TemporaryDirectory(prefix="vegart-cold-") as folder:
        if args.against:
            other = Path(folder) / "baseline"
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(other),
                 args.against],
                check=True,
            )  # fmt: skip
            trees[args.against] = other
        try:
            boto: list[float] = []
            samples: dict[tuple[str, str], list[float]] = {}
            for _ in range(args.runs):
                boto.append(cold_import_ms(statement="import boto3"))
                for tree, checkout in trees.items():
                    for name in FUNCTIONS:
                        app = checkout / "functions" / name / "app.py"
                        ms = cold_import_ms(app, env=tree_env(checkout))
                        samples.setdefault((tree, name), []).append(ms)
        finally:
            if args.against:
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)],
                    check=False,
                )
    baseline = statistics.median(boto)
    header = ("function", *(f"{tree}: import (ratio to boto3)" for tree in trees), "goal")
    rows = []
    for name in FUNCTIONS:
        cells = [f"`{name}`"]
        for tree in trees:
            ms = statistics.median(samples[(tree, name)])
            cells.append(f"{ms:.0f} ms ({ms / baseline:.2f})")
        cells.append(f"<= {GOALS[name]}")
        rows.append(cells)
    print(f"{machine()}, medians of {args.runs}; `import boto3`: {baseline:.0f} ms\n")
    print(table(header, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
