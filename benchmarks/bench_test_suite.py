"""Test-suite benchmark: the wall time of a tier's pytest run and the peak memory of its processes.

Run with ``.venv/bin/python benchmarks/bench_test_suite.py`` (``--tier test`` or ``soak``,
``--runs N``, ``--against REV``, ``--busy``).

Each run starts the tier's pytest command as ``make test`` (or ``make soak``) runs it, after the
install and the lint, and samples every process it starts four times a second: the peak
resident memory (``VmHWM``) of each pytest process (the controller and each xdist worker) and
of the largest other process beside them (a local stack, checkov, the SAM CLI). The wall time
is pytest's, from start to exit. ``--against REV`` measures the same tier's command of that
revision in a worktree of its own, in the same run, as the baseline; ``--busy`` keeps one
CPU-bound process running beside every run, as a shared CI machine would.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from devkit.bench import ROOT, machine, table

TIERS = ("test", "soak")
_SAMPLE_SECONDS = 0.25


@dataclass
class Run:
    seconds: float
    returncode: int
    pytest_peak_mib: float
    other_peak_mib: float
    summary: str
    peaks: dict[int, tuple[str, float]] = field(default_factory=dict, repr=False)


def _descendants(root: int) -> list[int]:
    """Every process below ``root``, from /proc (no psutil: this runs on a bare venv too)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _peak_mib(pid: int) -> tuple[str, float] | None:
    """A process's command line and its resident high-water mark so far, in MiB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return command, int(line.split()[1]) / 1024
    return None


#: How an xdist worker's command line reads: execnet starts it with its own bootstrap.
_XDIST_WORKER = "exec(eval(sys.stdin.readline()))"


def _is_pytest(command: str) -> bool:
    """pytest itself, or one of its xdist workers (whatever else they start is not)."""
    return " -m pytest" in command or _XDIST_WORKER in command


def measure(checkout: Path, arguments: list[str], env: dict[str, str], log: Path) -> Run:
    """One pytest run of a tier in ``checkout``, sampled until it exits; its output in ``log``."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *arguments]
    peaks: dict[int, tuple[str, float]] = {}
    with log.open("w") as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=checkout, env=env, stdout=output, stderr=subprocess.STDOUT
        )
        while process.poll() is None:
            for pid in _descendants(process.pid):
                seen = _peak_mib(pid)
                if seen and seen[1] >= peaks.get(pid, ("", 0.0))[1]:
                    peaks[pid] = seen
            time.sleep(_SAMPLE_SECONDS)
        seconds = time.perf_counter() - started
    lines = [line.strip() for line in log.read_text().splitlines() if line.strip()]
    pytest_peak = max((mib for cmd, mib in peaks.values() if _is_pytest(cmd)), default=0.0)
    other_peak = max((mib for cmd, mib in peaks.values() if not _is_pytest(cmd)), default=0.0)
    summary = lines[-1] if lines else ""
    print(f"  {seconds:.0f} s, rc {process.returncode}: {summary} ({log})", file=sys.stderr)
    return Run(seconds, process.returncode, pytest_peak, other_peak, summary, peaks)


def worktree(revision: str, into: Path) -> Path:
    """``revision`` checked out beside this one, sharing its venv (and the tools in it that
    tests find under ``.venv``: checkov, the SAM CLI, the inference toolkit) and the
    ``shared`` folder beside the repository."""
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(into), revision],
        check=True,
    )
    (into / ".venv").symlink_to(ROOT / ".venv")
    if (ROOT.parent / "shared").is_dir():
        (into.parent / "shared").symlink_to(ROOT.parent / "shared")
    return into


def revision_env(checkout: Path) -> dict[str, str]:
    """This venv, importing the checkout's own packages first (the venv's editable installs
    point at this working tree)."""
    paths = [checkout / "layers" / "shared", checkout / "admin", checkout]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(str(path) for path in paths)
    return env


def tier_arguments(checkout: Path, tier: str) -> list[str]:
    """The tier's pytest arguments as the checkout's Makefile passes them
    (``make print-pytest-test``); none for a revision that had no tiers (every test, in one
    process, as its ``make test`` ran them)."""
    found = subprocess.run(
        ["make", "-s", "--no-print-directory", "-C", str(checkout), f"print-pytest-{tier}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return shlex.split(found.stdout) if found.returncode == 0 else []


class Busy:
    """One CPU-bound process beside the runs, as another job on a shared machine."""

    def __enter__(self) -> Busy:
        self.process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        return self

    def __exit__(self, *_: object) -> None:
        self.process.kill()
        self.process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tier", choices=TIERS, default="test")
    parser.add_argument("--runs", type=int, default=3, help="runs of each revision (default 3)")
    parser.add_argument("--against", metavar="REV", help="also measure this revision's suite")
    parser.add_argument("--busy", action="store_true", help="a CPU-bound process beside each run")
    args = parser.parse_args()
    runs: list[Run] = []
    older: list[Run] = []
    logs = Path(tempfile.mkdtemp(prefix="vegart-suite-"))
    with tempfile.TemporaryDirectory(prefix="vegart-suite-") as folder:
        other = worktree(args.against, Path(folder) / "baseline") if args.against else None
        try:
            for number in range(args.runs):
                print(f"run {number + 1} of {args.runs}", file=sys.stderr)
                with Busy() if args.busy else contextlib.nullcontext():
                    arguments = tier_arguments(ROOT, args.tier)
                    log = logs / f"{args.tier}-{number + 1}.log"
                    runs.append(measure(ROOT, arguments, dict(os.environ), log))
                    if other is not None:
                        arguments = tier_arguments(other, args.tier)
                        log = logs / f"{args.tier}-{number + 1}-{args.against}.log"
                        older.append(measure(other, arguments, revision_env(other), log))
        finally:
            if other is not None:
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)],
                    check=False,
                )
    print(f"{machine()}, tier `{args.tier}`, {args.runs} runs{', busy' if args.busy else ''}\n")
    header = ("revision", "pytest wall (median)", "peak RSS of a pytest process", "largest other")
    rows = [_row("this tree", runs)]
    if older:
        rows.append(_row(str(args.against), older))
        wall = statistics.median(r.seconds for r in older) / statistics.median(
            r.seconds for r in runs
        )
        memory = statistics.median(r.pytest_peak_mib for r in older) / statistics.median(
            r.pytest_peak_mib for r in runs
        )
        rows.append(("ratio (baseline / this tree)", f"{wall:.2f} x", f"{memory:.2f} x", ""))
    print(table(header, rows))
    for run in runs:
        print(f"\n- {run.summary} (rc {run.returncode})")
    return 0 if all(run.returncode == 0 for run in runs) else 1


def _row(name: str, runs: list[Run]) -> tuple[str, str, str, str]:
    return (
        name,
        f"{statistics.median(r.seconds for r in runs) / 60:.1f} min",
        f"{statistics.median(r.pytest_peak_mib for r in runs) / 1024:.2f} GiB",
        f"{statistics.median(r.other_peak_mib for r in runs) / 1024:.2f} GiB",
    )


if __name__ == "__main__":
    sys.exit(main())
