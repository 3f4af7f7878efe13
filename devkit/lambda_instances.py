"""A function's Lambda instances as processes: warm ones reused, any of them killable.

Lambda runs each instance of a function in a process of its own and gives it one invocation
at a time; an invocation that outlives the function's timeout is killed with its process, and
the next invocation starts a new instance (a cold start). :class:`LambdaInstances` does the
same with ``python -m devkit.lambda_runtime`` processes, so that a worker "crashing
mid-render" is a real ``SIGKILL``, after which nothing of it runs: no ``finally``, no write.

:class:`KillPlan` kills invocations on purpose (chaos runs, crash tests): the first ``first``
ones, then each with probability ``rate``, at a point drawn between ``earliest`` and
``latest`` seconds into it.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from .api_model import FunctionSpec
from .functions import ROOT

#: Longer than a cold start takes on a busy machine: a guard against an instance that hangs.
START_SECONDS = 120.0


class InvocationFailed(Exception):
    """The function raised (Lambda's ``Unhandled`` error); the message is its error."""


class InstanceKilled(Exception):
    """The invocation's instance was killed (its timeout, or a kill plan) or died."""


@dataclass
class KillPlan:
    """Which invocations to kill, and when: seeded, so that a run repeats itself."""

    first: int = 0
    rate: float = 0.0
    earliest: float = 0.0
    latest: float = 1.0
    seed: int = 0
    _random: random.Random = field(init=False, repr=False)
    _seen: int = field(default=0, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def next_kill(self) -> float | None:
        """Seconds into the next invocation at which to kill it, or ``None`` to let it be."""
        with self._lock:
            self._seen += 1
            doomed = self._seen <= self.first or self._random.random() < self.rate
            return self._random.uniform(self.earliest, self.latest) if doomed else None


class _Instance:
    """One ``devkit.lambda_runtime`` process, ready for an invocation."""

    def __init__(self, spec: FunctionSpec, output: Callable[[str], None]) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devkit.lambda_runtime",
                str(spec.code_dir),
                spec.handler,
                spec.name,
                str(spec.timeout),
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stderr is not None
        threading.Thread(target=_relay, args=(self.process.stderr, output), daemon=True).start()
        self._answers: list[dict[str, Any]] = []
        self._answered = threading.Condition()
        threading.Thread(target=self._read_answers, daemon=True).start()
        if self._next_answer(START_SECONDS) is None:
            self.kill()
            raise InstanceKilled(f"{spec.name}: an instance did not start")

    def _read_answers(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._answered:
                self._answers.append(json.loads(line))
                self._answered.notify_all()
        with self._answered:
            self._answers.append({"died": True})
            self._answered.notify_all()

    def _next_answer(self, timeout: float) -> dict[str, Any] | None:
        with self._answered:
            if not self._answered.wait_for(lambda: self._answers, timeout):
                return None
            return self._answers.pop(0)

    def invoke(self, event: dict[str, Any], timeout: float, kill_after: float | None) -> Any:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(event) + "\n")
            self.process.stdin.flush()
        except OSError as exc:
            raise InstanceKilled(f"the instance is gone: {exc}") from None
        wait = timeout if kill_after is None else min(timeout, kill_after)
        started = time.monotonic()
        answer = self._next_answer(wait)
        if answer is None:
            self.kill()
            reason = (
                "killed on purpose"
                if kill_after is not None and kill_after < timeout
                else (f"timed out after {time.monotonic() - started:.1f} s")
            )
            raise InstanceKilled(reason)
        if answer.get("died"):
            raise InstanceKilled("the instance died")
        if "error" in answer:
            raise InvocationFailed(answer["error"])
        return answer["answer"]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()


def _print(text: str) -> None:
    sys.stdout.write(text)


def _relay(stream: IO[str], output: Callable[[str], None]) -> None:
    for line in stream:
        output(line)


class LambdaInstances:
    """The instances of one function: an idle one takes the next invocation, else a new one."""

    def __init__(
        self,
        spec: FunctionSpec,
        *,
        output: Callable[[str], None] | None = None,
        kills: KillPlan | None = None,
    ) -> None:
        self.spec = spec
        self._output = output or _print
        self._kills = kills
        self._idle: list[_Instance] = []
        self._all: list[_Instance] = []
        self._lock = threading.Lock()
        #: How many invocations were killed, by their timeout or by the kill plan.
        self.killed = 0
        self.cold_starts = 0

    def invoke(self, event: dict[str, Any]) -> Any:
        """The function's answer to ``event``; :class:`InvocationFailed` if it raised,
        :class:`InstanceKilled` if its instance was killed meanwhile."""
        instance = self._take()
        kill_after = self._kills.next_kill() if self._kills is not None else None
        try:
            answer = instance.invoke(event, self.spec.timeout, kill_after)
        except InstanceKilled:
            with self._lock:
                self.killed += 1
                self._all.remove(instance)
            raise
        except InvocationFailed:
            self._give_back(instance)
            raise
        self._give_back(instance)
        return answer

    def _take(self) -> _Instance:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            self.cold_starts += 1
        instance = _Instance(self.spec, self._output)
        with self._lock:
            self._all.append(instance)
        return instance

    def _give_back(self, instance: _Instance) -> None:
        with self._lock:
            self._idle.append(instance)

    def close(self) -> None:
        with self._lock:
            instances, self._all, self._idle = list(self._all), [], []
        for instance in instances:
            instance.close()
