"""Chaos for v2 against a stack of its own whose workers are killed at random: 500 jobs, the
v1 backend plan, duplicate messages, and every invariant asserted (``devkit.chaos.jobs``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devkit.chaos import run_job_chaos
from devkit.stack_process import RunningStack, start, stop

#: The stack the run needs: worker instances killed (SIGKILL) at 5 % of invocations, at any
#: point of them; a job's deadline (and the queue's visibility) of 8 s, so that a crashed
#: worker's job comes back within the run.
CHAOS_STACK = (
    "--parameter",
    "JobDeadlineSeconds=8",
    "--kill-rate",
    "0.05",
    "--kill-between-ms",
    "0,800",
    "--chaos-seed",
    "11",
)
JOBS = 500


@pytest.fixture
def chaotic_stack() -> Iterator[RunningStack]:
    running = start(*CHAOS_STACK)
    try:
        yield running
    finally:
        stop(running)


@pytest.mark.timeout(900)
def test_every_job_ends_and_credits_are_exact_under_chaos(chaotic_stack: RunningStack) -> None:
    report = run_job_chaos(chaotic_stack, jobs=JOBS, seed=7, bound_seconds=600)
    print("\n" + report.markdown())

    assert report.violations == []
    assert len(report.jobs) == JOBS
    # A run that met no fault would pass for nothing: it met every kind of trouble.
    ends = {job.result.get("status") for job in report.jobs if job.request_id}
    assert ends == {"COMPLETED", "FAILED"}
    assert report.duplicates_sent > 0
    assert report.takeovers > 0  # some workers died holding a job
    assert {"502", "connection_reset", "truncated_body", "429"} <= set(report.backend)
    caches = {job.result.get("cache") for job in report.jobs if job.result.get("cache")}
    assert caches == {"HIT", "MISS"}
