"""What ``make run`` prints: an access line a request, the functions' logs only when verbose, and
one line with exit status 2 for a start-up mistake.

The stack runs as ``make run`` runs it (``python -m local_stack``, its own process); its stdout
after the description line is the console a person reads.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
from collections.abc import Iterator

import pytest
import requests

from devkit.functions import ROOT
from devkit.stack_process import RunningStack, launch, person_env, start, stop
from devkit.waiting import eventually

#: An access line: date and time, method, path, status, x-cache (or -), milliseconds, id.
ACCESS_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  (?P<method>[A-Z]+) +(?P<path>/\S*)  (?P<status>\d{3})  "
    r"(?P<cache>HIT|MISS|-) +(?P<millis>\d+) ms  (?P<request_id>[0-9a-f-]{36})$"
)
PROMPT = {"prompt": "a lighthouse, on the console", "seed": 5}


def access_line(stack: RunningStack, request_id: str) -> dict[str, str]:
    """The parsed access line of the request with this id, once the stack has printed it."""

    def find() -> dict[str, str] | None:
        for line in list(stack.console):
            match = ACCESS_LINE.match(line)
            if match and match["request_id"] == request_id:
                return match.groupdict()
        return None

    return eventually(find, f"the access line of request {request_id}")


def post(stack: RunningStack, key: str | None, body: object) -> requests.Response:
    headers = {"x-api-key": key} if key is not None else {}
    return requests.post(stack.render_url, json=body, headers=headers, timeout=60)


def test_every_request_is_one_access_line_with_its_id(stack: RunningStack) -> None:
    miss = post(stack, stack.api_key, PROMPT)
    hit = post(stack, stack.api_key, PROMPT)
    refused = post(stack, None, PROMPT)
    invalid = post(stack, stack.api_key, {"seed": 1})
    # x-request-id (the function's) and x-amzn-RequestId (the gateway's) are one id.
    assert miss.headers["x-request-id"] == miss.headers["x-amzn-RequestId"]
    seen = [
        access_line(stack, response.headers["x-amzn-RequestId"])
        for response in (miss, hit, refused, invalid)
    ]
    assert [(line["method"], line["path"]) for line in seen] == [
        ("POST", "/v1/segmind-vega-rt-v1")
    ] * 4
    assert [(line["status"], line["cache"]) for line in seen] == [
        ("200", "MISS"),
        ("200", "HIT"),
        ("401", "-"),
        ("400", "-"),
    ]


def test_the_quiet_console_holds_access_lines_and_nothing_else(stack: RunningStack) -> None:
    before = len(stack.console)  # the session's stack: earlier tests printed their own lines
    last = None
    for seed in range(3):
        last = post(stack, stack.api_key, {**PROMPT, "seed": 100 + seed})
        assert last.status_code == 200
    assert last is not None
    access_line(stack, last.headers["x-request-id"])
    # No structured log line, no metrics document, no warning: access lines only.
    assert [line for line in stack.console[before:] if not ACCESS_LINE.match(line)] == []
    assert [line for line in stack.errors if "Warning" in line] == []


def test_a_function_error_is_one_short_line_above_its_access_line(stack: RunningStack) -> None:
    before = len(stack.console)
    stack.mock.enqueue({"status": 401})  # the gateway's own Segmind account is refused
    response = post(stack, stack.api_key, {**PROMPT, "seed": 7})
    assert response.status_code == 502
    line = access_line(stack, response.headers["x-request-id"])
    assert line["status"] == "502"
    errors = [entry for entry in stack.console[before:] if "RenderFunction ERROR:" in entry]
    assert errors == [
        "    RenderFunction ERROR: Segmind refused the gateway's account (upstream_status=401)"
    ]


@pytest.fixture(scope="module")
def verbose_stack() -> Iterator[RunningStack]:
    running = start(env={"VEGART_VERBOSE": "1"})
    try:
        yield running
    finally:
        stop(running)


def test_verbose_adds_the_functions_structured_logs_and_metrics(
    verbose_stack: RunningStack,
) -> None:
    response = post(verbose_stack, verbose_stack.api_key, PROMPT)
    assert response.status_code == 200
    access_line(verbose_stack, response.headers["x-request-id"])

    def documents() -> list[dict[str, object]]:
        parsed = []
        for line in list(verbose_stack.console):
            if line.startswith("{"):
                parsed.append(json.loads(line))
        return parsed

    rendered = eventually(
        lambda: [doc for doc in documents() if doc.get("message") == "Rendered"],
        "the render function's 'Rendered' log line",
    )
    assert rendered[0]["correlation_id"] == response.headers["x-request-id"]
    metrics = eventually(
        lambda: [doc for doc in documents() if "_aws" in doc], "an EMF metrics document"
    )
    assert any("CacheMisses" in doc for doc in metrics)
    assert [line for line in verbose_stack.errors if "Warning" in line] == []


def start_failure(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python -m local_stack`` with a mistake in its environment, run to its end."""
    process = launch(env=env)
    try:
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"VEGART_API_KEY": "mykey"}, "VEGART_API_KEY"),
        ({"VEGART_PORT": "three thousand"}, "VEGART_PORT"),
        ({"VEGART_AWS_PORT": "70000"}, "VEGART_AWS_PORT"),
        ({"VEGART_RENDER_DELAY_MS": "-5"}, "VEGART_RENDER_DELAY_MS"),
        ({"VEGART_BACKEND": "openai"}, "VEGART_BACKEND"),
        ({"VEGART_BACKEND": "segmind", "SEGMIND_API_KEY": ""}, "SEGMIND_API_KEY"),
        ({"VEGART_BACKEND": "sagemaker"}, "SAGEMAKER_LOCAL_URL"),
    ],
    ids=[
        "short-key",
        "port-not-a-number",
        "port-too-large",
        "negative-delay",
        "unknown-backend",
        "segmind-without-key",
        "sagemaker-without-url",
    ],
)
def test_a_start_up_mistake_is_one_line_and_exit_status_2(env: dict[str, str], names: str) -> None:
    completed = start_failure(env)
    assert completed.returncode == 2
    assert completed.stdout == ""
    lines = completed.stderr.splitlines()
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith("make run: ")
    assert names in lines[0]


@pytest.mark.parametrize("variable", ["VEGART_PORT", "VEGART_AWS_PORT", "VEGART_MOCK_PORT"])
def test_a_port_in_use_is_one_line_naming_the_variable(variable: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        completed = start_failure({variable: port})
    assert completed.returncode == 2
    (line,) = completed.stderr.splitlines()
    assert line == (
        f"make run: port {port} on 127.0.0.1 is already in use ({variable}); stop what uses "
        f"it, or set {variable} to a free port"
    )


def test_make_run_says_the_same_through_make() -> None:
    """The Makefile target passes the one line and the status on (and installs nothing here)."""
    completed = subprocess.run(
        ["make", "--no-print-directory", "--old-file=.venv/.installed-run", "run"],
        cwd=ROOT,
        env=person_env({"VEGART_API_KEY": "mykey"}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr.splitlines()[0].startswith("make run: VEGART_API_KEY must be")
    assert "Traceback" not in completed.stderr
