"""Chaos for v2 against a stack of its own whose workers are killed: jobs on the v1 backend
plan, duplicate messages, and every invariant asserted (``devkit.chaos.jobs``).

``make test`` runs 50 jobs on a stack that kills one worker invocation in eight mid-render
(each render takes a second, the kill comes in its first 0.8 s), so that some job is always
taken over from a dead worker; ``make soak`` runs 500 on a stack that kills one in twenty at
any point of its invocation (before a claim, mid-render, after the end but before the delete).
A job's deadline (and the queue's visibility) is 8 s, so that a crashed worker's job comes
back within the run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from devkit.chaos import run_job_chaos
from devkit.stack_process import RunningStack, start, stop
from tests.helpers.tiers import sizes

_DEADLINE = ("--parameter", "JobDeadlineSeconds=8", "--chaos-seed", "11")


@dataclass(frozen=True)
class Run:
    count: int
    stack: tuple[str, ...]
    #: The prompts a third of the jobs repeat: few enough that some repeat comes after the
    #: first render of its prompt is stored (a hit), however the jobs interleave.
    hot_prompts: int


SMALL = Run(
    50,
    (*_DEADLINE, "--render-delay-ms", "1000", "--kill-rate", "0.125", "--kill-between-ms", "0,800"),
    hot_prompts=2,
)
FULL = Run(500, (*_DEADLINE, "--kill-rate", "0.05", "--kill-between-ms", "0,800"), hot_prompts=25)


@pytest.fixture(params=sizes(SMALL, FULL, "jobs"))
def chaos(request: pytest.FixtureRequest) -> Iterator[tuple[RunningStack, Run]]:
    run: Run = request.param
    running = start(*run.stack)
    try:
        yield running, run
    finally:
        stop(running)


@pytest.mark.timeout(900)
def test_every_job_ends_and_credits_are_exact_under_chaos(
    chaos: tuple[RunningStack, Run],
) -> None:
    stack, run = chaos
    jobs = run.count
    report = run_job_chaos(stack, jobs=jobs, seed=7, bound_seconds=600, hot_prompts=run.hot_prompts)
    print("\n" + report.markdown())

    assert report.violations == []
    assert len(report.jobs) == jobs
    # A run that met no fault would pass for nothing: it met every kind of trouble.
    ends = {job.result.get("status") for job in report.jobs if job.request_id}
    assert ends == {"COMPLETED", "FAILED"}
    assert report.duplicates_sent > 0
    assert report.takeovers > 0  # some workers died holding a job
    assert {"502", "connection_reset", "truncated_body", "429"} <= set(report.backend)
    caches = {job.result.get("cache") for job in report.jobs if job.result.get("cache")}
    assert caches == {"HIT", "MISS"}
