"""When and how long to wait before asking the render backend again.

Exponential back-off with full jitter (AWS Architecture Blog, "Exponential Backoff And
Jitter"), except when the backend says when to come back: ``Retry-After`` (seconds or an HTTP
date) or Segmind's ``x-rate-limit-reset-at-utc`` (an ISO 8601 time or epoch seconds). Nothing
here sleeps past the request's deadline; the caller checks that with :meth:`RetryPolicy.fits`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from .deadline import Deadline


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, how far apart, and the least time worth starting one with."""

    max_attempts: int = 4
    base_delay: float = 0.2
    max_delay: float = 4.0
    min_attempt_seconds: float = 1.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: a uniform wait up to ``base * 2**attempt``, capped."""
        return rng.uniform(0.0, min(self.max_delay, self.base_delay * (2**attempt)))

    def fits(self, wait: float, deadline: Deadline) -> bool:
        """Whether waiting ``wait`` seconds still leaves time for a useful attempt."""
        return deadline.remaining() - wait >= self.min_attempt_seconds


def _parse_time(value: str) -> datetime | None:
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        seconds = number / 1000 if number > 1e11 else number  # milliseconds since the epoch
        return datetime.fromtimestamp(seconds, UTC)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def server_wait(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds the server asked us to wait, from Retry-After or x-rate-limit-reset-at-utc."""
    now = now or datetime.now(UTC)
    retry_after = headers.get("Retry-After")
    if retry_after is not None:
        text = retry_after.strip()
        if text.isdigit():
            return float(text)
        moment = _parse_time(text)
        if moment is not None:
            return max(0.0, (moment - now).total_seconds())
    reset_at = headers.get("x-rate-limit-reset-at-utc")
    if reset_at is not None:
        moment = _parse_time(reset_at)
        if moment is not None:
            return max(0.0, (moment - now).total_seconds())
    return None
