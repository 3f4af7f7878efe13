"""The mock as test authors get it: a distribution of its own, with no dependencies, a console
script and a pytest plugin that gives each test a ready, reset mock."""

from __future__ import annotations

import email
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import requests

from mock_server import MockSegmind

MOCK_DIR = Path(__file__).resolve().parents[2] / "mock_server"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(MOCK_DIR),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("segmind_mock-*.whl")
    return built


def test_the_wheel_holds_the_mock_and_nothing_else(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = email.message_from_bytes(
            archive.read(next(name for name in names if name.endswith("/METADATA")))
        )
        entry_points = archive.read(
            next(name for name in names if name.endswith("/entry_points.txt"))
        ).decode()
    modules = {name for name in names if not name.startswith("segmind_mock-")}
    assert modules == {f"mock_server/{path.name}" for path in MOCK_DIR.glob("*.py")}
    assert metadata.get_all("Requires-Dist") is None  # the standard library only
    assert "segmind-mock = mock_server.__main__:main" in entry_points
    assert "segmind_mock = mock_server.pytest_plugin" in entry_points


def test_installed_alone_it_serves_from_its_console_script(wheel: Path, tmp_path: Path) -> None:
    # A fresh environment with the wheel and nothing else (not even the gateway's code).
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "env")], check=True)
    python = tmp_path / "env" / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    process = subprocess.Popen(
        [str(tmp_path / "env" / "bin" / "segmind-mock"), "--port", "0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        answer = requests.post(
            f"{url}/v2/segmind-vega-rt-v1",
            json={"prompt": "a lighthouse"},
            headers={"x-api-key": "sg-mock-key"},
            timeout=30,
        )
        assert answer.status_code == 200
        assert answer.json()["status"] == "QUEUED"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def test_the_plugins_fixture_is_a_running_mock_reset_for_each_test(
    segmind_mock: MockSegmind,
) -> None:
    assert segmind_mock.requests() == []  # whatever another test did
    answer = requests.post(
        segmind_mock.endpoint,
        json={"prompt": "a lighthouse"},
        headers={"x-api-key": segmind_mock.api_key},
        timeout=30,
    )
    assert answer.status_code == 200
    segmind_mock.enqueue({"status": 502})


def test_the_plugins_fixture_forgets_what_the_last_test_left(segmind_mock: MockSegmind) -> None:
    assert segmind_mock.requests() == []
    assert segmind_mock.queued() == []


@pytest.mark.segmind_mock(credits=1, api_keys=("sg-my-key",))
def test_a_marker_gives_a_test_a_mock_of_its_own(segmind_mock: MockSegmind) -> None:
    def render() -> int:
        return requests.post(
            segmind_mock.endpoint,
            json={"prompt": "a lighthouse"},
            headers={"x-api-key": "sg-my-key"},
            timeout=30,
        ).status_code

    assert (render(), render()) == (200, 406)
