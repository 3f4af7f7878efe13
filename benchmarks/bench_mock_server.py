"""Mock server benchmark: how fast the Segmind mock makes a new JPEG and answers requests.

Run with ``make bench`` or ``.venv/bin/python benchmarks/bench_mock_server.py``. Figures are
medians, each next to a baseline measured in the same run, because the machine is shared.

1. JPEG: the median time to make one new 1024 x 1024 JPEG, timed on the uncached function
   under ``render_jpeg``'s ``lru_cache`` with a fresh prompt each call, so no run is a cache
   hit. Goal: under 20 ms. Baseline: Pillow (C, libjpeg) encoding a 1024 x 1024 RGB image,
   which says whether a slow figure is the machine or the encoder.
2. Throughput: requests a second from 8 client threads, each with its own keep-alive
   ``requests.Session``, for a forced 429 (``Prefer: code=429``) and for a cached 200 (the
   same prompt and seed every time, after a warm-up request). Goal: over 500 a second.
   Baseline: a bare ``ThreadingHTTPServer`` answering a fixed small 200 over HTTP/1.1
   keep-alive, with the mock's transport settings (Nagle off, same backlog), driven by the
   same client code, so the ratio is the cost of the mock's own work per request.

Why the servers run in a subprocess (``python -m mock_server --port 0``, and the baseline as
a ``python -c`` script): in one process the 8 client threads and the server's handler
threads take turns on one GIL, so the figure would be the sum of client and server time on a
single core, and a slower client would read as a slower mock. In their own processes the
server and the clients each get a core of this 2-core machine, the server is measured as it
is used (``make mock`` runs it the same way), and each server's CPU time per request, read
from ``/proc``, is reported too: it does not depend on how fast the client is. The clients
(``requests``, 8 threads under one GIL) may well be the bottleneck; the bare server's rate
shows that ceiling, and the CPU column shows how far each server is from its own.
"""

from __future__ import annotations

import io
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests

from devkit.bench import ROOT, table

JPEG_PROMPTS = 60
JPEG_GOAL_MS = 20.0
CLIENTS = 8
REQUESTS_PER_RUN = 2000  # per scenario and repetition, split evenly between the clients
REPETITIONS = 5
RPS_GOAL = 500.0

API_KEY = "sg-mock-key"
BODY = json.dumps({"prompt": "a lighthouse at dusk", "seed": 7}).encode()

_BARE_SERVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = b'{"status": "ok"}'

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format, *args):
        pass

class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

server = Server(("127.0.0.1", 0), Handler)
print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
"""


# 1. a new JPEG


def jpeg_ms() -> tuple[float, float, int]:
    """Median ms for one new mock JPEG and one Pillow encode, and the mock JPEG's size."""
    from PIL import Image

    from mock_server.jpeg import render_jpeg

    make = render_jpeg.__wrapped__  # under the lru_cache: every call does the whole work
    first = make("bench 0", 1, 4)
    with Image.open(io.BytesIO(first)) as decoded:  # a real JPEG, or the figure means nothing
        decoded.load()
        assert decoded.size == (1024, 1024), decoded.size
    gradient = Image.linear_gradient("L").resize((1024, 1024))
    picture = Image.merge(
        "RGB", (gradient, gradient.transpose(Image.Transpose.ROTATE_90), gradient)
    )

    mock, pillow = [], []
    for i in range(1, JPEG_PROMPTS + 1):  # interleaved, so that noise hits both alike
        started = time.perf_counter()
        make(f"bench {i}: a lighthouse at dusk", i, 4)
        mock.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        picture.save(io.BytesIO(), "JPEG", quality=75)
        pillow.append((time.perf_counter() - started) * 1000)
    return statistics.median(mock), statistics.median(pillow), len(first)


# 2. requests a second


@dataclass
class _Server:
    url: str
    pid: int


@contextmanager
def _serve(args: list[str]) -> Iterator[_Server]:
    """Start a server in its own interpreter, read the URL it prints first, stop it after."""
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"{args} printed {url!r}, not its URL")
        yield _Server(url, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of a process so far, or None where there is no /proc."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class _Run:
    rps: float
    cpu_us: float | None  # server CPU time per request


def _drive(
    server: _Server, url: str, headers: dict[str, str], status: int, count: int = REQUESTS_PER_RUN
) -> _Run:
    """``count`` requests from CLIENTS threads with a kept-alive session each; timed after
    every client has made one warm-up request, so connecting is not part of the figure."""
    per_client = count // CLIENTS
    ready = threading.Barrier(CLIENTS + 1)
    failures: list[str] = []

    def client() -> None:
        with requests.Session() as session:
            try:
                session.post(url, data=BODY, headers=headers, timeout=10).content  # noqa: B018
            finally:
                ready.wait()
            try:
                for _ in range(per_client):
                    answer = session.post(url, data=BODY, headers=headers, timeout=10)
                    answer.content  # noqa: B018 - read the whole body, as a real client does
                    if answer.status_code != status:
                        failures.append(f"{answer.status_code}: {answer.text[:200]}")
                        return
            except requests.RequestException as exc:
                failures.append(repr(exc))
                return
            pools = session.get_adapter(url).poolmanager.pools
            opened = sum(pools[key].num_connections for key in pools.keys())  # noqa: SIM118
            if opened != 1:
                failures.append(f"{opened} connections, not one kept alive")

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    ready.wait()
    cpu_before = _cpu_seconds(server.pid)
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    cpu_after = _cpu_seconds(server.pid)
    if failures:
        raise RuntimeError(f"{len(failures)} failures, first: {failures[0]}")
    total = per_client * CLIENTS
    cpu_us = None
    if cpu_before is not None and cpu_after is not None:
        cpu_us = (cpu_after - cpu_before) / total * 1e6
    return _Run(total / elapsed, cpu_us)


def _median_run(runs: list[_Run]) -> _Run:
    cpu = [run.cpu_us for run in runs if run.cpu_us is not None]
    return _Run(statistics.median(run.rps for run in runs), statistics.median(cpu) if cpu else None)


def throughput() -> dict[str, _Run]:
    """Median requests a second (and server CPU per request) for each scenario."""
    headers = {"x-api-key": API_KEY, "Content-Type": "application/json"}
    runs: dict[str, list[_Run]] = {"bare": [], "429": [], "200": []}
    with (
        _serve(["-c", _BARE_SERVER]) as bare,
        _serve(["-m", "mock_server", "--port", "0", "--api-key", API_KEY]) as mock,
    ):
        endpoint = f"{mock.url}/v1/segmind-vega-rt-v1"
        # Warm both servers and the cached JPEG, then check the 200 really is the JPEG.
        _drive(bare, bare.url, headers, 200, count=CLIENTS * 20)
        _drive(mock, endpoint, {**headers, "Prefer": "code=429"}, 429, count=CLIENTS * 20)
        _drive(mock, endpoint, headers, 200, count=CLIENTS * 20)
        image = requests.post(endpoint, data=BODY, headers=headers, timeout=10)
        assert image.headers["Content-Type"] == "image/jpeg", image.headers
        assert image.content[:2] == b"\xff\xd8", image.content[:16]
        for _ in range(REPETITIONS):  # interleaved, so that noise hits every scenario alike
            runs["bare"].append(_drive(bare, bare.url, headers, 200))
            runs["429"].append(_drive(mock, endpoint, {**headers, "Prefer": "code=429"}, 429))
            runs["200"].append(_drive(mock, endpoint, headers, 200))
    return {name: _median_run(scenario) for name, scenario in runs.items()}


def _cpu(run: _Run, bare: _Run | None = None) -> str:
    if run.cpu_us is None:
        return "n/a"
    if bare is None or not bare.cpu_us:
        return f"{run.cpu_us:.0f} µs"
    return f"{run.cpu_us:.0f} µs ({run.cpu_us / bare.cpu_us:.2f}x bare)"


def main() -> None:
    mock_ms, pillow_ms, jpeg_bytes = jpeg_ms()
    rates = throughput()
    bare = rates["bare"]
    rows: list[tuple[object, ...]] = [
        (
            f"new 1024x1024 JPEG, uncached ({JPEG_PROMPTS} prompts, {jpeg_bytes // 1024} KiB)",
            f"{mock_ms:.1f} ms",
            f"< {JPEG_GOAL_MS:.0f} ms",
            f"Pillow encode, 1024x1024 RGB: {pillow_ms:.1f} ms",
            f"{mock_ms / pillow_ms:.1f}",
            "",
            "yes" if mock_ms < JPEG_GOAL_MS else "**no**",
        ),
        (
            f"bare ThreadingHTTPServer, small 200 ({CLIENTS} clients)",
            f"{bare.rps:.0f} req/s",
            "",
            "(the baseline)",
            "1.00",
            _cpu(bare),
            "",
        ),
    ]
    for name, label in (("429", "forced 429 (`Prefer: code=429`)"), ("200", "cached 200 JPEG")):
        run = rates[name]
        rows.append(
            (
                f"mock, {label} ({CLIENTS} clients)",
                f"{run.rps:.0f} req/s",
                f"> {RPS_GOAL:.0f} req/s",
                f"bare server: {bare.rps:.0f} req/s",
                f"{run.rps / bare.rps:.2f}",
                _cpu(run, bare),
                "yes" if run.rps > RPS_GOAL else "**no**",
            )
        )
    print(
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}; "
        f"throughput: median of {REPETITIONS} runs of {REQUESTS_PER_RUN} requests, "
        "servers in their own process\n"
    )
    print(
        table(
            (
                "measure",
                "median",
                "goal",
                "baseline (same run)",
                "ratio",
                "server CPU / request",
                "met",
            ),
            rows,
        )
    )


if __name__ == "__main__":
    main()
