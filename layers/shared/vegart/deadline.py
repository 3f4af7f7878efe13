"""A request's time budget, shared by every step that can block."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Time kept back from Lambda's own limit to record the outcome and send the answer.
RESPONSE_MARGIN_SECONDS = 1.0


@dataclass(frozen=True)
class Deadline:
    """A point on the monotonic clock after which the client no longer waits for us."""

    expires_at: float
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(clock() + seconds, clock)

    @classmethod
    def within_invocation(cls, seconds: float, context: Any) -> Deadline:
        """``seconds`` from now, shortened if the Lambda invocation has less time left.

        ``context`` is Lambda's; its ``get_remaining_time_in_millis`` is the invocation's own
        limit, which no budget may outlive: what runs past it is killed without an answer.
        """
        remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
        if callable(remaining_ms):
            seconds = min(seconds, remaining_ms() / 1000 - RESPONSE_MARGIN_SECONDS)
        return cls.after(max(0.0, seconds))

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.expires_at - self.clock())

    def expired(self) -> bool:
        return self.remaining() <= 0.0
