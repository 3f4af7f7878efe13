"""``python -m mock_server``: URL on the first line, options honoured, clean exit on signals."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from mock_server import MockSegmind

REPO = Path(__file__).resolve().parents[2]


@contextmanager
def cli(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Run the mock as a process on port 0 and hand over the URL it printed first."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mock_server", "--port", "0", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url or process.stderr.read()
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_cli_serves_then_stops_cleanly_on_a_signal(signum):
    with cli("--seed", "1") as (process, url), requests.Session() as http:
        response = http.post(
            f"{url}/v1/segmind-vega-rt-v1",
            json={"prompt": "a lighthouse"},
            headers={"x-api-key": "sg-mock-key"},
            timeout=30,
        )
        assert response.status_code == 200
        assert response.content.startswith(b"\xff\xd8")
        # The session keeps its connection open: a stop that waited for it would take the
        # 120 s idle timeout.
        process.send_signal(signum)
        assert process.wait(timeout=60) == 0
    # --seed in the CLI seeds exactly as the class does.
    with MockSegmind(seed=1) as mock:
        same = requests.post(
            mock.endpoint,
            json={"prompt": "a lighthouse"},
            headers={"x-api-key": mock.api_key},
            timeout=30,
        )
    assert same.headers["x-request-id"] == response.headers["x-request-id"]
    assert same.headers["x-seed-value"] == response.headers["x-seed-value"]


def test_a_signal_right_after_the_url_still_exits_cleanly():
    with cli() as (process, _):
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_the_cli_options_reach_the_server():
    with cli(
        "--api-key",
        "sg-a",
        "--api-key",
        "sg-b",
        "--disabled-key",
        "sg-off",
        "--credits",
        "1",
        "--rate-limit",
        "5",
        "--retry-after",
    ) as (process, url):
        endpoint = f"{url}/v1/segmind-vega-rt-v1"

        def post(key: str, prefer: str = "") -> requests.Response:
            headers = {"x-api-key": key, **({"Prefer": prefer} if prefer else {})}
            return requests.post(endpoint, json={"prompt": "a"}, headers=headers, timeout=30)

        first = post("sg-a")
        assert (first.status_code, first.headers["x-remaining-credits"]) == (200, "0")
        assert post("sg-a").status_code == 406
        assert post("sg-b").status_code == 200
        assert post("sg-off").status_code == 403
        assert post("sg-mock-key").status_code == 401, "the default key is off once keys given"
        assert post("sg-b", "code=429").headers["Retry-After"] == "1"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
