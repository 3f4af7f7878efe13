"""What ``make run`` prints while it serves: one access line a request, as a gateway's log reads.

On AWS, each function's structured logs and metrics go to its own CloudWatch log group and
API Gateway keeps an access log. Locally they would all land on one terminal, a dozen JSON
lines a request. So the console shows the access log, and of the functions' own output only
their warnings and errors, one short line each; ``VEGART_VERBOSE=1`` passes everything through
as the functions wrote it.

The functions run on the local gateway's threads, in this process, and write to
``sys.stdout`` (Powertools' logger and its metrics both do). :func:`function_scope` marks the
code that runs as a function; :class:`FunctionOutput` stands in for ``sys.stdout`` and tells
the functions' lines from everything else by that mark.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

#: The function whose code is running on this thread, if any.
_FUNCTION: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "vegart_local_function", default=None
)
#: Log levels that reach the console even when it is not verbose.
_SHOWN_LEVELS = frozenset({"WARNING", "ERROR", "CRITICAL"})
#: Fields of a Powertools log line that every line has, or that say nothing about the problem.
_ROUTINE_FIELDS = frozenset(
    {
        "level", "location", "message", "timestamp", "service", "cold_start", "function_name",
        "function_memory_size", "function_arn", "function_request_id", "correlation_id",
        "xray_trace_id", "sampling_rate", "key_id", "prompt_sha256", "prompt_length", "prompt",
        "steps", "exception", "exception_name", "stack_trace",
    }
)  # fmt: skip


@contextlib.contextmanager
def function_scope(name: str) -> Iterator[None]:
    """Mark what runs inside as the function ``name``'s code (its output is the function's)."""
    token = _FUNCTION.set(name)
    try:
        yield
    finally:
        _FUNCTION.reset(token)


@dataclass(frozen=True)
class AccessRecord:
    """One request as the local gateway answered it."""

    time: float
    method: str
    path: str
    status: int
    cache: str
    millis: float
    request_id: str

    def line(self) -> str:
        stamp = datetime.fromtimestamp(self.time).strftime("%Y-%m-%d %H:%M:%S")
        return (
            f"{stamp}  {self.method:<7} {self.path}  {self.status}  {self.cache or '-':<4}  "
            f"{self.millis:>6.0f} ms  {self.request_id}"
        )


class FunctionOutput(io.TextIOBase):
    """``sys.stdout`` for a process that runs functions: their lines filtered, the rest as is."""

    def __init__(self, stream: TextIO, *, verbose: bool) -> None:
        self._stream = stream
        self._verbose = verbose
        self._lock = threading.Lock()
        self._partial: dict[int, str] = {}

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        function = _FUNCTION.get()
        if function is None or self._verbose:
            with self._lock:
                self._stream.write(text)
                if "\n" in text:
                    self._stream.flush()
            return len(text)
        thread = threading.get_ident()
        with self._lock:
            pending = self._partial.pop(thread, "") + text
            *lines, rest = pending.split("\n")
            if rest:
                self._partial[thread] = rest
            shown = [line for line in map(lambda line: summarize(function, line), lines) if line]
            if shown:
                self._stream.write("".join(f"{line}\n" for line in shown))
                self._stream.flush()
        return len(text)

    def flush(self) -> None:
        with self._lock:
            self._stream.flush()

    def console(self, line: str) -> None:
        """Write one line of the console's own (an access line), whatever thread asks."""
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()


def summarize(function: str, line: str) -> str | None:
    """The console's short form of a function's output line, or ``None`` to leave it out.

    Warnings and errors of the structured log are kept, with the fields that explain them;
    info lines, metrics (EMF documents) and anything unstructured are what verbose mode is for.
    """
    try:
        record: Any = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or str(record.get("level", "")).upper() not in _SHOWN_LEVELS:
        return None
    details = [f"{name}={value}" for name, value in record.items() if name not in _ROUTINE_FIELDS]
    exception = str(record.get("exception") or "").strip().splitlines()
    if exception:
        details.append(exception[-1])
    suffix = f" ({', '.join(details)})" if details else ""
    return f"    {function} {record['level'].upper()}: {record.get('message', '')}{suffix}"
