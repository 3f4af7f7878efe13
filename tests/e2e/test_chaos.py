"""Chaos under load against the session's local stack: the invariants that faults must not break.

The run is ``devkit.chaos``, which ``benchmarks/bench_chaos.py`` also drives for its figures;
every invariant is asserted. ``make test`` runs it with 200 requests from 8 workers, ``make
soak`` at full size (2,000 requests, 16 workers); both meet every backend fault and status
and two hangs. The mock renders with no delay in tests, so the run is bounded by the gateway
itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from devkit.chaos import run_chaos
from devkit.stack_process import RunningStack
from tests.helpers.tiers import sizes


@dataclass(frozen=True)
class Load:
    count: int
    workers: int


@pytest.fixture
def chaotic(stack: RunningStack) -> Iterator[RunningStack]:
    """The stack, with the mock's queue emptied afterwards whatever the run left in it."""
    try:
        yield stack
    finally:
        stack.mock.reset()


@pytest.mark.timeout(600)
@pytest.mark.parametrize("load", sizes(Load(200, 8), Load(2000, 16), "requests"))
def test_invariants_hold_under_chaos(chaotic: RunningStack, load: Load) -> None:
    report = run_chaos(chaotic, requests=load.count, concurrency=load.workers, seed=7, hangs=2)
    print("\n" + report.markdown())

    assert report.violations == []
    assert len(report.outcomes) >= load.count
    # A run that never met a fault would pass the invariants for nothing: check that it did.
    met = set(report.backend)
    wanted = {"200", "400", "401", "403", "404", "406", "429", "500", "502", "504", "hang"}
    wanted |= {"connection_reset", "empty_response", "truncated_body", "garbage_then_close"}
    assert wanted <= met, sorted(met)
    assert {200, 400, 401, 403, 404, 406, 429, 502, 504} <= set(report.statuses)
    assert report.hits > 0
    assert report.misses > 0
