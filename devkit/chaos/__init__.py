"""Chaos under load: thousands of concurrent renders while the backend misbehaves on purpose.

Unit and contract tests play one fault at a time against an idle gateway. What they cannot
show is what happens when faults land *between* other requests: a retry that races a refund,
a truncated body that reaches the cache while another worker reads the same key, a hang that
holds a worker while the rest keep going. So :func:`run_chaos`:

1. makes its own keys with ``vegart-admin`` (one with plenty of credits and rate, so that its
   balance can be accounted to the credit; one with none, one disabled), as an operator would;
2. queues in the mock Segmind a seeded random plan (:mod:`.plan`);
3. sends the requests from many workers at once (:mod:`.driver`);
4. checks the invariants that must survive all of it (:mod:`.invariants`): documented
   statuses and error shapes only, no corrupt image served or stored, the same pixels for the
   same inputs, a stored render is served from the cache, and credits debited exactly once per
   rendered image.

``benchmarks/bench_chaos.py`` runs it against a stack of its own and prints the figures;
``tests/e2e/test_chaos.py`` runs it against the test session's stack and asserts
:attr:`Report.violations` is empty. One client request may consume several queued answers,
since the gateway retries 429, 5xx and transport faults inside its deadline: the plan is sized
in backend *attempts*, and answers past its end are normal ones.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable

from ..stack_process import RunningStack
from .accounts import balance, make_keys
from .driver import drive
from .invariants import check_invariants, journal_counts, stored_images
from .jobs import run_job_chaos
from .plan import HOT_PROMPTS, backend_plan, client_plan, describe
from .report import Report

__all__ = ["Report", "run_chaos", "run_job_chaos"]


def run_chaos(
    stack: RunningStack,
    *,
    requests: int = 2000,
    concurrency: int = 16,
    seed: int = 20260401,
    failure_rate: float = 0.25,
    hangs: int = 2,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Run the chaos against ``stack`` and check it; the mock's queue is empty afterwards."""
    say = progress or (lambda _: None)
    rng = random.Random(seed)
    run_tag = f"{seed}-{time.time_ns()}"
    keys = make_keys(stack, credits=100_000)
    plan = client_plan(rng, requests, keys, run_tag)
    # A render attempt for each request that may reach the backend, plus the retries.
    attempts = int(sum(k in ("fresh", "random_seed") for k in (p.kind for p in plan)) * 1.25)
    attempts += HOT_PROMPTS * 2
    mock_plan = backend_plan(rng, attempts, failure_rate, hangs)
    stack.mock.reset()
    stack.mock.enqueue(*mock_plan)
    say(f"queued {len(mock_plan)} backend answers; sending {requests} requests")
    try:
        outcomes, wall = drive(stack.url, plan, concurrency)
        journal = stack.mock.requests()
    finally:
        stack.mock.reset()
    say(f"sent in {wall:.1f} s; checking the cache bucket and the balances")
    stored, stored_problems = stored_images(stack)
    credits_end = balance(stack, keys.chaos_id)
    violations = check_invariants(
        outcomes, keys.credits - credits_end, stored_problems, balance(stack, keys.empty_id)
    )
    return Report(
        requests=requests,
        concurrency=concurrency,
        seed=seed,
        wall_seconds=wall,
        outcomes=outcomes,
        plan=Counter(describe(entry) for entry in mock_plan),
        backend=journal_counts(journal),
        stored_objects=stored,
        credits_start=keys.credits,
        credits_end=credits_end,
        violations=violations,
    )
