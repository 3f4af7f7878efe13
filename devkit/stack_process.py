"""The local stack as its own process, started as ``make run`` starts it, for tests and benchmarks.

``python -m local_stack --json`` on free ports prints one line of JSON when it is ready; what
it prints after that is its console. :func:`start` returns a :class:`RunningStack` that holds
both, and :func:`stop` ends it as Ctrl-C would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from mock_server import MockAdmin

from .deployment import function_env
from .functions import ROOT
from .offline_dns import OFFLINE_DNS

#: Longer than a start takes on a busy machine: a guard against a stack that never starts.
START_SECONDS = 120.0


class StackDidNotStart(RuntimeError):
    """The stack ended before it said it was ready; the message holds what it printed."""


@dataclass
class RunningStack:
    """Where a started stack listens, its mock's admin API, and what it has printed."""

    process: subprocess.Popen[str] = field(repr=False)
    url: str
    render_url: str
    base_url: str
    api_key: str
    aws_url: str
    stack: str
    mock: MockAdmin
    backend: str
    #: Every line the stack has printed on stdout since its description: its console.
    console: list[str] = field(default_factory=list, repr=False)
    #: Every line it has printed on stderr.
    errors: list[str] = field(default_factory=list, repr=False)


def person_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment as a person's shell would have it for ``make run``.

    The variables that a deployment's functions read (devkit.deployment) are left out: tests
    set them in their own process, and the stack sets its functions' own from the template.
    """
    functions = function_env()
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in functions or name.startswith("AWS_")
    }
    return {**environment, **(env or {})}


def launch(*arguments: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    """``python -m local_stack --json`` on free ports (render delay 0 unless ``arguments``
    say otherwise); nothing is read from it yet."""
    free_ports = {"VEGART_PORT": "0", "VEGART_AWS_PORT": "0", "VEGART_MOCK_PORT": "0"}
    # A webhook's host is resolved without a DNS query (devkit.offline_dns): tests and
    # benchmarks name hosts that do not exist, and send nothing off this machine.
    free_ports[OFFLINE_DNS] = "1"
    return subprocess.Popen(
        [sys.executable, "-m", "local_stack", "--json", "--render-delay-ms", "0", *arguments],
        cwd=ROOT,
        env=person_env({**free_ports, **(env or {})}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def start(*arguments: str, env: Mapping[str, str] | None = None) -> RunningStack:
    """A stack started with :func:`launch`, once it is ready; its output is read from then on,
    so that its console never blocks it."""
    process = launch(*arguments, env=env)
    try:
        return attach(process)
    except BaseException:
        stop(process)
        raise


def attach(process: subprocess.Popen[str]) -> RunningStack:
    """Read a launched stack's description and keep reading what it prints."""
    assert process.stdout is not None
    assert process.stderr is not None
    line = process.stdout.readline()
    if not line:
        _, printed = process.communicate(timeout=START_SECONDS)
        raise StackDidNotStart(printed[-4000:])
    info: dict[str, Any] = json.loads(line)
    running = RunningStack(
        process=process,
        url=info["url"],
        render_url=info["render_url"],
        base_url=info["base_url"],
        api_key=info["api_key"],
        aws_url=info["aws_url"],
        stack=info["stack"],
        mock=MockAdmin(info["mock_url"] or ""),
        backend=info["backend"],
    )
    for stream, lines in ((process.stdout, running.console), (process.stderr, running.errors)):
        threading.Thread(target=_collect, args=(stream, lines), daemon=True).start()
    return running


def _collect(stream: IO[str], lines: list[str]) -> None:
    for printed in stream:
        lines.append(printed.rstrip("\n"))


def stop(stack: RunningStack | subprocess.Popen[str]) -> int:
    """End the stack as Ctrl-C does; its exit status."""
    process = stack.process if isinstance(stack, RunningStack) else stack
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def aws_client(stack: RunningStack, service: str) -> Any:
    """A boto3 client for the stack's moto, with its dummy credentials."""
    import boto3  # noqa: PLC0415 - only what reads the stack's AWS pays for it

    return boto3.client(
        service,  # type: ignore[call-overload] # any service the caller names
        endpoint_url=stack.aws_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # nosec B106 # moto's dummy credentials
    )


def admin(stack: RunningStack, *arguments: str) -> str:
    """``vegart-admin`` against the stack, as its banner tells an operator to run it."""
    command = [sys.executable, "-m", "vegart_admin", "--stack", stack.stack]
    command += ["--endpoint-url", stack.aws_url, *arguments]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def create_key(stack: RunningStack, label: str, credits: int) -> tuple[str, str]:
    """A key with a rate far above any test's, so that only what a test does decides statuses;
    its plain value and its id."""
    made = json.loads(
        admin(
            stack,
            *("keys", "create", "--label", label, "--credits", str(credits)),
            *("--rate", "10000", "--burst", "5000", "--json"),
        )
    )
    return str(made["api_key"]), str(made["key"]["key_id"])
