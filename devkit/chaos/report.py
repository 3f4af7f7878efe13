"""A chaos run's figures and the invariants it broke, as markdown for docs/benchmarks.md."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass

from ..bench import table
from .driver import Outcome


@dataclass
class Report:
    """A run's figures and the invariants it broke (none, one hopes)."""

    requests: int
    concurrency: int
    seed: int
    wall_seconds: float
    outcomes: list[Outcome]
    plan: Counter[str]
    backend: Counter[str]
    stored_objects: int
    credits_start: int
    credits_end: int
    violations: list[str]

    @property
    def throughput(self) -> float:
        return len(self.outcomes) / self.wall_seconds

    def percentile_ms(self, fraction: float) -> float:
        """Nearest-rank percentile of the client-side latency, in milliseconds."""
        ordered = sorted(o.seconds for o in self.outcomes)
        rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
        return ordered[rank] * 1000

    @property
    def statuses(self) -> Counter[int]:
        return Counter(o.status for o in self.outcomes)

    @property
    def hits(self) -> int:
        return sum(1 for o in self.outcomes if o.status == 200 and o.cache == "HIT")

    @property
    def misses(self) -> int:
        return sum(1 for o in self.outcomes if o.status == 200 and o.cache == "MISS")

    def markdown(self) -> str:
        """The figures as markdown tables, for docs/benchmarks.md."""
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items()))
        backend = ", ".join(f"{name}: {n}" for name, n in sorted(self.backend.items()))
        planned = ", ".join(f"{name}: {n}" for name, n in sorted(self.plan.items()))
        median_hit = _median_ms(self.outcomes, "HIT")
        median_miss = _median_ms(self.outcomes, "MISS")
        rows = [
            ("requests, workers", f"{len(self.outcomes)}, {self.concurrency} (seed {self.seed})"),
            ("throughput", f"{self.throughput:.1f} req/s over {self.wall_seconds:.1f} s"),
            ("latency p50 / p99 / max", self._latencies()),
            ("median 200 HIT / MISS", f"{median_hit:.1f} / {median_miss:.1f} ms"),
            ("answers by status", statuses),
            ("200s: cache hits / misses", f"{self.hits} / {self.misses}"),
            ("credits spent (start - end)", f"{self.credits_start - self.credits_end}"),
            ("backend attempts (mock journal)", backend),
            ("queued backend answers", planned),
            ("objects in the cache bucket, all checked", str(self.stored_objects)),
            ("invariant violations", str(len(self.violations))),
        ]
        return table(("measure", "value"), rows)

    def _latencies(self) -> str:
        top = max(o.seconds for o in self.outcomes) * 1000
        return f"{self.percentile_ms(0.5):.1f} / {self.percentile_ms(0.99):.1f} / {top:.0f} ms"


def _median_ms(outcomes: list[Outcome], cache: str) -> float:
    samples = [o.seconds for o in outcomes if o.status == 200 and o.cache == cache]
    return statistics.median(samples) * 1000 if samples else float("nan")
