"""Scripted answers: what a test asks the next requests to get instead of the normal one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .contract import DOCUMENTED_STATUSES
from .faults import FAULTS, Fault


class BadBehaviour(ValueError):
    """A scripted entry that the mock cannot play; the message says which part."""


@dataclass(frozen=True)
class Behaviour:
    """One scripted answer: an optional delay, then a status, a fault or the normal answer."""

    status: int | None = None
    fault: Fault | None = None
    delay_ms: int = 0
    headers: dict[str, str] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """The entry as JSON, for the journal and the queue listing."""
        out: dict[str, Any] = {}
        if self.status is not None:
            out["status"] = self.status
        if self.fault is not None:
            out["fault"] = self.fault.value
        if self.delay_ms:
            out["delay_ms"] = self.delay_ms
        if self.headers:
            out["headers"] = self.headers
        return out


def _status(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadBehaviour("status must be an integer")
    if value != 200 and value not in DOCUMENTED_STATUSES:
        allowed = ", ".join(str(s) for s in sorted(DOCUMENTED_STATUSES))
        raise BadBehaviour(f"status {value} is not documented; use 200 or one of {allowed}")
    return value


def _fault(value: Any) -> Fault:
    if value not in FAULTS:
        raise BadBehaviour(f"fault must be one of {', '.join(sorted(FAULTS))}")
    return Fault(value)


def _non_negative(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BadBehaviour(f"{name} must be a non-negative integer")
    return value


def parse_entry(entry: Any) -> list[Behaviour]:
    """Turn one enqueue entry into the behaviours it stands for (``times`` copies of one)."""
    if not isinstance(entry, dict):
        raise BadBehaviour("each entry must be an object")
    unknown = set(entry) - {"status", "fault", "delay_ms", "times", "headers"}
    if unknown:
        raise BadBehaviour(f"unknown keys: {', '.join(sorted(unknown))}")
    if "status" in entry and "fault" in entry:
        raise BadBehaviour("an entry has a status or a fault, not both")
    if not {"status", "fault", "delay_ms"} & set(entry):
        raise BadBehaviour("an entry needs a status, a fault or a delay_ms")
    headers = entry.get("headers", {})
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise BadBehaviour("headers must map strings to strings")
    behaviour = Behaviour(
        status=_status(entry["status"]) if "status" in entry else None,
        fault=_fault(entry["fault"]) if "fault" in entry else None,
        delay_ms=_non_negative(entry.get("delay_ms", 0), "delay_ms"),
        headers=dict(headers),
    )
    times = _non_negative(entry.get("times", 1), "times")
    return [behaviour] * times


def parse_prefer(header: str | None) -> Behaviour | None:
    """Read ``Prefer: code=429`` or ``Prefer: fault=hang`` (Prism's convention) from a request.

    Several preferences may be given, separated by commas or semicolons, for example
    ``Prefer: code=429, delay_ms=200``. Unknown preferences are ignored, as RFC 7240 asks.
    """
    if not header:
        return None
    entry: dict[str, Any] = {}
    for part in header.replace(";", ",").split(","):
        name, _, value = part.strip().partition("=")
        name, value = name.strip().lower(), value.strip().strip('"')
        if name == "code":
            entry["status"] = int(value) if value.isdigit() else value
        elif name == "fault":
            entry["fault"] = value
        elif name == "delay_ms":
            entry["delay_ms"] = int(value) if value.isdigit() else value
    if not entry:
        return None
    return parse_entry(entry)[0]
