"""Chaos under load against the session's local stack: the invariants that faults must not break.

The runner lives in ``benchmarks/bench_chaos.py`` so that the benchmark and this test exercise
the same plan and the same checks; here it runs at full size (2,000 requests, 16 workers, every
backend fault and status, two hangs) and every invariant is asserted. The mock renders with no
delay in tests, so the run is bounded by the gateway itself: about a minute.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningStack

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

from bench_chaos import run_chaos  # noqa: E402 - needs the path above

REQUESTS = 2000
WORKERS = 16


@pytest.fixture
def chaotic(stack: RunningStack) -> Iterator[RunningStack]:
    """The stack, with the mock's queue emptied afterwards whatever the run left in it."""
    try:
        yield stack
    finally:
        stack.mock.reset()


@pytest.mark.timeout(300)
def test_invariants_hold_under_chaos(chaotic: RunningStack) -> None:
    report = run_chaos(chaotic, requests=REQUESTS, concurrency=WORKERS, seed=7, hangs=2)
    print("\n" + report.markdown())

    assert report.violations == []
    assert len(report.outcomes) >= REQUESTS
    # A run that never met a fault would pass the invariants for nothing: check that it did.
    met = set(report.backend)
    wanted = {"200", "400", "401", "403", "404", "406", "429", "500", "502", "504", "hang"}
    wanted |= {"connection_reset", "empty_response", "truncated_body", "garbage_then_close"}
    assert wanted <= met, sorted(met)
    assert {200, 400, 401, 403, 404, 406, 429, 502, 504} <= set(report.statuses)
    assert report.hits > 0
    assert report.misses > 0
