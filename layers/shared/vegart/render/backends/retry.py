"""When and how long to wait before asking the render backend again.

Exponential back-off with full jitter (AWS Architecture Blog, "Exponential Backoff And
Jitter"), except when the backend says when to come back: ``Retry-After`` (seconds or an HTTP
date) or Segmind's ``x-rate-limit-reset-at-utc`` (an ISO 8601 time or epoch seconds). Nothing
here sleeps past the request's deadline; the caller checks that with :meth:`RetryPolicy.fits`.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from vegart.deadline import Deadline
from vegart.errors import ContractError, DeadlineExceeded, RateLimited
from vegart.observability import logger, metrics


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


#: The longest wait taken from a backend's own words. Beyond an hour a limit is as good as
#: "not within this request", and an absurd header (``1e400``, a date in the year 9999) must
#: not become an absurd ``Retry-After`` for the client.
MAX_SERVER_WAIT_SECONDS = 3600.0


def server_wait(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds the server asked us to wait, from Retry-After or x-rate-limit-reset-at-utc.

    Between 0 and :data:`MAX_SERVER_WAIT_SECONDS`, or ``None`` when neither header says
    anything readable. A header is the backend's text, untrusted like any input: whatever it
    holds, the answer is a number or ``None``, never an exception.
    """
    now = now or datetime.now(UTC)
    for name, delay_seconds in (("Retry-After", True), ("x-rate-limit-reset-at-utc", False)):
        value = headers.get(name)
        if value is not None:
            wait = _wait_from(str(value), now, delay_seconds=delay_seconds)
            if wait is not None:
                return wait
    return None


def _wait_from(value: str, now: datetime, *, delay_seconds: bool) -> float | None:
    """Seconds until the time ``value`` names; ``delay_seconds`` also reads a plain count."""
    text = value.strip()
    if delay_seconds and text.isascii() and text.isdigit():
        return _bounded(float(text))  # 400 digits are inf as a float: bounded like the rest
    moment = _parse_time(text)
    if moment is None:
        return None
    try:
        return _bounded((moment - now).total_seconds())
    except (OverflowError, ValueError):  # an offset that carries the time out of range
        return None


def _bounded(seconds: float) -> float | None:
    if math.isnan(seconds):
        return None
    return min(max(0.0, seconds), MAX_SERVER_WAIT_SECONDS)


def _parse_time(text: str) -> datetime | None:
    """An epoch time (seconds or milliseconds), an ISO 8601 time or an HTTP date."""
    try:
        number = float(text)
    except ValueError:
        number = None
    try:
        if number is not None:
            if not math.isfinite(number):
                return None
            seconds = number / 1000 if abs(number) > 1e11 else number  # milliseconds
            return datetime.fromtimestamp(seconds, UTC)
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, OverflowError, OSError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


_T = TypeVar("_T")


class Transient(Exception):
    """A failure worth another attempt; ``error`` is what the client gets if none is left.

    ``wait`` is how long the backend asked us to wait, if it said (else back-off decides).
    """

    def __init__(self, error: ContractError, wait: float | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.wait = wait


def with_retries(
    attempt: Callable[[], _T],
    deadline: Deadline,
    *,
    policy: RetryPolicy,
    rng: random.Random,
    sleep: Callable[[float], None] = time.sleep,
) -> _T:
    """Run ``attempt`` until it returns, raises a final error, or retrying no longer fits.

    A backend's attempt raises :class:`Transient` for what is worth retrying, any other
    :class:`ContractError` for what is final, and :class:`DeadlineExceeded` when the request's
    time ran out inside it. How the request ends is decided by what the backend did, not by
    how busy the machine was: once an attempt has failed transiently, running out of time
    later (while waiting, or inside a retry) ends with that failure (502), never with a 504;
    a rate limit that outlasts the deadline becomes a 429 whose ``Retry-After`` is the wait
    we would have needed.
    """
    failed: Transient | None = None
    for number in range(policy.max_attempts):
        try:
            return attempt()
        except DeadlineExceeded:
            if failed is None:
                raise
            raise _give_up(failed, failed.wait or 0.0) from None
        except Transient as transient:
            failed = transient
            wait = transient.wait if transient.wait is not None else policy.backoff(number, rng)
            if number + 1 >= policy.max_attempts or not policy.fits(wait, deadline):
                raise _give_up(transient, wait) from None
            metrics.add_metric(name="BackendRetries", unit="Count", value=1)
            logger.info(
                "Retrying the render backend",
                extra={
                    "attempt": number + 1,
                    "wait_seconds": round(wait, 3),
                    "status": transient.error.status,
                },
            )
            sleep(wait)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _give_up(transient: Transient, wait: float) -> ContractError:
    """The client's answer when no attempt is left: the backend's failure, as the contract says."""
    if isinstance(transient.error, RateLimited):
        return RateLimited(retry_after=math.ceil(wait))
    return transient.error
