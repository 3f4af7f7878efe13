"""Quickstart benchmark: from ``git clone`` to the first image of ``make run``, on a new venv.

Run with ``.venv/bin/python benchmarks/bench_quickstart.py`` (``--runs N``, ``--against REV``).

Each run clones this repository's ``HEAD`` into a new folder, runs ``make run`` there as a
newcomer would (no ``.venv``; pip's cache as this machine has it), and times each step until
the documented ``curl`` request answers a JPEG: the clone, the install (until make's run stamp
appears), the stack's start (until its banner), the first render. The baseline, measured in
the same run, is the floor of any install: a new venv with only the functions' own runtime
(``pip install -e .``: boto3, Powertools, requests), without moto or the admin CLI's needs.
``--against REV`` also times ``make run`` at an older revision, for a before-and-after.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from devkit.bench import ROOT, table

DEMO_KEY = "vg_local-demo-key-not-a-secret-0000"
#: What a newcomer's first request waits for at most: the install, the start, the render.
GIVE_UP_SECONDS = 900


@dataclass
class Quickstart:
    clone: float
    installed: float
    banner: float
    first_image: float


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def newcomer_env(ports: dict[str, int]) -> dict[str, str]:
    """This environment as a newcomer's shell has it: no venv active, nothing of the tests."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    venv_bin = str(Path(sys.prefix) / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env.update({name: str(port) for name, port in ports.items()})
    return env


def clone(into: Path, revision: str | None) -> None:
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(into)], check=True)
    if revision:
        subprocess.run(["git", "-C", str(into), "checkout", "--quiet", revision], check=True)


def quickstart(work: Path, revision: str | None = None) -> Quickstart:
    """One newcomer's ``git clone`` and ``make run``, timed step by step."""
    checkout = work / "checkout"
    started = time.perf_counter()
    clone(checkout, revision)
    cloned = time.perf_counter() - started
    ports = {name: free_port() for name in ("VEGART_PORT", "VEGART_AWS_PORT", "VEGART_MOCK_PORT")}
    log = (work / "make-run.log").open("w")
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=checkout,
        env=newcomer_env(ports),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stamps = [checkout / ".venv" / ".installed-run", checkout / ".venv" / ".installed-stamp"]
    url = f"http://127.0.0.1:{ports['VEGART_PORT']}/v1/segmind-vega-rt-v1"
    installed = banner = 0.0
    try:
        while time.perf_counter() - started < GIVE_UP_SECONDS:
            if process.poll() is not None:
                raise RuntimeError(f"make run ended: {(work / 'make-run.log').read_text()[-2000:]}")
            now = time.perf_counter() - started
            if not installed and any(stamp.exists() for stamp in stamps):
                installed = now
            if not banner and "Ctrl-C stops everything" in (work / "make-run.log").read_text():
                banner = now
                answer = requests.post(
                    url,
                    json={"prompt": "a lighthouse at dawn, watercolor", "seed": 42},
                    headers={"x-api-key": DEMO_KEY},
                    timeout=60,
                )
                assert answer.status_code == 200, answer.text
                assert answer.content[:2] == b"\xff\xd8", "not a JPEG"
                return Quickstart(cloned, installed, banner, time.perf_counter() - started)
            time.sleep(0.05)
        raise RuntimeError("make run did not answer in time")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        log.close()


def runtime_only_install(work: Path) -> float:
    """The baseline: a new venv with the package and its runtime dependencies only."""
    checkout = work / "checkout"
    clone(checkout, None)
    python = shutil.which("python3.11") or "python3"  # as the Makefile picks it
    env = newcomer_env({})
    started = time.perf_counter()
    subprocess.run([python, "-m", "venv", ".venv"], cwd=checkout, env=env, check=True)
    subprocess.run(
        [".venv/bin/python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-e", "."],
        cwd=checkout, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="newcomers to time (default 3)")
    parser.add_argument("--against", metavar="REV", help="also time make run at this revision")
    args = parser.parse_args()
    runs: list[Quickstart] = []
    baselines: list[float] = []
    older: list[Quickstart] = []
    for number in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="vegart-quickstart-") as folder:
            baselines.append(runtime_only_install(Path(folder)))
        with tempfile.TemporaryDirectory(prefix="vegart-quickstart-") as folder:
            runs.append(quickstart(Path(folder)))
        if args.against:
            with tempfile.TemporaryDirectory(prefix="vegart-quickstart-") as folder:
                older.append(quickstart(Path(folder), args.against))
        print(f"run {number + 1}: {runs[-1]}, baseline {baselines[-1]:.1f} s", file=sys.stderr)

    def median(values: list[float]) -> str:
        return f"{statistics.median(values):.1f} s"

    floor = statistics.median(baselines)
    first = statistics.median(run.first_image for run in runs)
    rows: list[tuple[object, ...]] = [
        ("`git clone`", median([r.clone for r in runs]), "", ""),
        ("... to the installed run stamp", median([r.installed for r in runs]), "", ""),
        ("... to the stack's banner", median([r.banner for r in runs]), "", ""),
        ("... to the first image (`make run`, then the README's curl)", f"{first:.1f} s",
         f"runtime-only venv: {floor:.1f} s", f"{first / floor:.2f}"),
    ]  # fmt: skip
    if older:
        before = statistics.median(run.first_image for run in older)
        rows.append(
            (f"first image at {args.against}", f"{before:.1f} s", "", f"{before / first:.2f} x")
        )
    print(f"{args.runs} newcomers, pip cache as this machine has it, new venv each time\n")
    print(table(("from a fresh clone", "median", "baseline (same run)", "ratio"), rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
