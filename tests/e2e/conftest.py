"""The local stack, started as ``make run`` starts it: ``python -m local_stack``, its own process.

One stack serves the session (starting one costs seconds); the mock behind it is reset before
each test. Render delay 0, so that a miss costs what the gateway costs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import boto3
import pytest

from local_stack.stack import LOCAL_RESOURCES
from mock_server import MockAdmin
from tests.conftest import TEST_ENV

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60
CACHE_BUCKET = LOCAL_RESOURCES.bucket


@dataclass(frozen=True)
class RunningStack:
    url: str
    render_url: str
    base_url: str
    api_key: str
    aws_url: str
    stack: str
    mock: MockAdmin
    #: Every line the stack has printed on stdout since its description: its console.
    console: list[str]
    #: Every line it has printed on stderr.
    errors: list[str]


def stack_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """A person's environment for ``make run``: this one, less the tests' own deployment.

    tests/conftest.py sets the functions' variables for in-process tests; the stack reads
    VEGART_BACKEND as ``make run`` documents it and sets the functions' variables itself.
    """
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in TEST_ENV or name.startswith("AWS_")
    }
    return {**environment, **(env or {})}


def start_stack(*arguments: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``python -m local_stack --json`` on free ports; its first stdout line describes it."""
    free_ports = {"VEGART_PORT": "0", "VEGART_AWS_PORT": "0", "VEGART_MOCK_PORT": "0"}
    environment = stack_env({**free_ports, **(env or {})})
    return subprocess.Popen(
        [sys.executable, "-m", "local_stack", "--json", "--render-delay-ms", "0", *arguments],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_description(
    process: subprocess.Popen[str],
    console: list[str] | None = None,
    errors: list[str] | None = None,
) -> dict[str, str]:
    """The stack's first stdout line; then its output is drained, so its logs never block it.

    The lines that follow on stdout are appended to ``console`` as they come, and those on
    stderr to ``errors``.
    """
    assert process.stdout is not None and process.stderr is not None
    line = process.stdout.readline()
    if not line:
        _, printed = process.communicate(timeout=60)
        pytest.fail(f"the local stack did not start:\n{printed[-4000:]}")

    def collect(stream: IO[str], lines: list[str]) -> None:
        for printed in stream:
            lines.append(printed.rstrip("\n"))

    for stream, lines in ((process.stdout, console), (process.stderr, errors)):
        threading.Thread(
            target=collect, args=(stream, [] if lines is None else lines), daemon=True
        ).start()
    return json.loads(line)


def stop_stack(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


@pytest.fixture(scope="session")
def local_stack() -> Iterator[RunningStack]:
    process = start_stack()
    console: list[str] = []
    errors: list[str] = []
    try:
        info = read_description(process, console, errors)
        yield running(info, console, errors)
    finally:
        stop_stack(process)


def running(info: dict[str, str], console: list[str], errors: list[str]) -> RunningStack:
    """The handle on a started stack that tests use."""
    return RunningStack(
        url=info["url"],
        render_url=info["render_url"],
        base_url=info["base_url"],
        api_key=info["api_key"],
        aws_url=info["aws_url"],
        stack=info["stack"],
        mock=MockAdmin(info["mock_url"]),
        console=console,
        errors=errors,
    )


def admin(stack: RunningStack, *arguments: str) -> str:
    """``vegart-admin`` against the local stack, as its banner tells an operator to run it."""
    command = [sys.executable, "-m", "vegart_admin", "--stack", stack.stack]
    command += ["--endpoint-url", stack.aws_url, *arguments]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


@pytest.fixture(scope="session")
def roomy_key(local_stack: RunningStack) -> str:
    """A key with a rate, a burst and credits that no test (fuzzing included) exhausts."""
    out = admin(
        local_stack,
        *("keys", "create", "--label", "roomy", "--credits", "1000000"),
        *("--rate", "10000", "--burst", "5000", "--json"),
    )
    return str(json.loads(out)["api_key"])


def empty_the_cache(stack: RunningStack) -> None:
    """Forget every cached render, so that a test's first request is a miss whatever ran first."""
    s3 = boto3.client(
        "s3",
        endpoint_url=stack.aws_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=CACHE_BUCKET):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=CACHE_BUCKET, Key=item["Key"])


@pytest.fixture
def stack(local_stack: RunningStack) -> RunningStack:
    local_stack.mock.reset()
    empty_the_cache(local_stack)
    return local_stack
