"""Everything the mock remembers between requests, behind one lock.

Handlers run on many threads at once; keeping all mutable state here, under a single lock,
makes every decision (take a credit, count a request in the rate window, pop the queue) atomic
without the handlers having to think about it.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .behaviours import Behaviour
from .jobs import MockJob

RATE_WINDOW_SECONDS = 60.0
#: The journal keeps the newest entries only: a mock left running under load (``make run``)
#: would otherwise grow by a kilobyte a request until it fills the memory.
JOURNAL_LIMIT = 10_000
#: v2 jobs are kept as Segmind keeps them (about an hour), and never more than this many.
JOB_LIMIT = 10_000
JOB_RETENTION_SECONDS = 3600.0


@dataclass(frozen=True)
class Options:
    """How a mock behaves when nothing is scripted: its keys, credits, rate and speed."""

    api_keys: tuple[str, ...]
    disabled_keys: tuple[str, ...] = ()
    credits: int = 1_000_000
    rate_limit: int | None = None
    retry_after: bool = False
    latency_ms: int = 0
    seed: int | None = None


@dataclass(frozen=True)
class RateDecision:
    """Whether a request fits its key's window, and when that window ends."""

    allowed: bool
    reset_at: float


class State:
    """Credits, rate windows, the scripted queue and the journal of one mock server."""

    def __init__(self, options: Options, clock: Callable[[], float] = time.time) -> None:
        self.options = options
        self._clock = clock
        self._lock = threading.Lock()
        #: Notified whenever the journal gains an entry or an outcome.
        self._journal_changed = threading.Condition(self._lock)
        # Not for secrets: a seeded generator is the point, so that a run repeats itself.
        self._random = random.Random(options.seed)  # noqa: S311  # nosec B311 # seeded on purpose
        self._credits: dict[str, int] = {}
        self._windows: dict[str, tuple[float, int]] = {}
        self._queue: deque[Behaviour] = deque()
        self._journal: deque[dict[str, Any]] = deque(maxlen=JOURNAL_LIMIT)
        self._recorded = 0
        self._jobs: dict[str, MockJob] = {}
        self.reset()

    def reset(self) -> None:
        """Forget the queue, the journal and the rate windows, and refill every key's credits."""
        with self._lock:
            keys = (*self.options.api_keys, *self.options.disabled_keys)
            self._credits = dict.fromkeys(keys, self.options.credits)
            self._windows.clear()
            self._queue.clear()
            self._journal.clear()
            self._recorded = 0
            self._jobs.clear()
            self._random.seed(self.options.seed)

    # keys and credits

    def key_status(self, key: str | None) -> str:
        """``missing``, ``unknown``, ``disabled`` or ``active``."""
        if not key:
            return "missing"
        if key in self.options.disabled_keys:
            return "disabled"
        return "active" if key in self.options.api_keys else "unknown"

    def take_credit(self, key: str) -> int | None:
        """Spend one credit and return what is left, or None when there was none to spend."""
        with self._lock:
            left = self._credits.get(key, 0)
            if left <= 0:
                return None
            self._credits[key] = left - 1
            return left - 1

    def refund_credit(self, key: str) -> None:
        """Give back a credit taken for a render that was never answered."""
        with self._lock:
            self._credits[key] = self._credits.get(key, 0) + 1

    def credits(self) -> dict[str, int]:
        with self._lock:
            return dict(self._credits)

    # rate

    def count_request(self, key: str) -> RateDecision:
        """Count a request in its key's fixed one-minute window, as Segmind's plans do."""
        with self._lock:
            now = self._clock()
            start, count = self._windows.get(key, (now, 0))
            if now - start >= RATE_WINDOW_SECONDS:
                start, count = now, 0
            limit = self.options.rate_limit
            allowed = limit is None or count < limit
            self._windows[key] = (start, count + 1 if allowed else count)
            return RateDecision(allowed=allowed, reset_at=start + RATE_WINDOW_SECONDS)

    def now(self) -> float:
        return self._clock()

    # randomness, seeded so that a test run repeats itself

    def pick_seed(self) -> int:
        with self._lock:
            return self._random.randint(0, 2**32 - 1)

    def request_id(self) -> str:
        with self._lock:
            return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def random_bytes(self, count: int) -> bytes:
        with self._lock:
            return self._random.randbytes(count)

    # v2 jobs

    def add_job(self, job: MockJob) -> None:
        """Keep a submitted job; the oldest go once there are too many or they are too old."""
        with self._lock:
            self._jobs[job.request_id] = job
            horizon = self._clock() - JOB_RETENTION_SECONDS
            while self._jobs:
                oldest = next(iter(self._jobs.values()))
                if len(self._jobs) <= JOB_LIMIT and oldest.ready_at >= horizon:
                    break
                del self._jobs[oldest.request_id]

    def job(self, request_id: str) -> MockJob | None:
        with self._lock:
            return self._jobs.get(request_id)

    def jobs(self) -> list[MockJob]:
        with self._lock:
            return list(self._jobs.values())

    # the scripted queue

    def enqueue(self, behaviours: Iterable[Behaviour]) -> int:
        with self._lock:
            self._queue.extend(behaviours)
            return len(self._queue)

    def next_behaviour(self) -> Behaviour | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def queued(self) -> list[dict[str, Any]]:
        with self._lock:
            return [b.describe() for b in self._queue]

    # the journal

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Add a request to the journal; the caller fills in its outcome when it is known.

        ``index`` counts the requests since the last reset or clear, so it keeps counting when
        the oldest entries fall out of a full journal.
        """
        entry["time"] = datetime.fromtimestamp(self._clock(), UTC).isoformat()
        with self._lock:
            entry["index"] = self._recorded
            self._recorded += 1
            self._journal.append(entry)
            self._journal_changed.notify_all()
        return entry

    def settle(self, entry: dict[str, Any], outcome: dict[str, Any]) -> None:
        """Write down how a journalled request was answered."""
        with self._lock:
            entry["outcome"] = outcome
            self._journal_changed.notify_all()

    def journal(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._journal]

    def wait_for_journal(
        self, count: int, *, settled: bool, timeout: float
    ) -> list[dict[str, Any]] | None:
        """The journal once it holds ``count`` entries (with outcomes, if ``settled``); ``None``
        if that has not happened within ``timeout`` seconds."""

        def ready() -> bool:
            if len(self._journal) < count:
                return False
            return not settled or all("outcome" in entry for entry in list(self._journal)[:count])

        with self._journal_changed:
            if not self._journal_changed.wait_for(ready, timeout):
                return None
            return [dict(entry) for entry in self._journal]

    def clear_journal(self) -> None:
        with self._lock:
            self._journal.clear()
            self._recorded = 0
