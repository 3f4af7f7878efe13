"""The chaos run's plans: what the client sends and what the backend answers, from one seed.

Both are decided before the run, so that a seed repeats it. The client plan mixes requests
that render, hit the cache, or that the gateway must refuse itself; the backend plan queues in
the mock Segmind every error status and transport fault it plays, runs of 429s that outlast
the gateway's attempts, hangs near the start, and slow normal answers.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

from mock_server import DOCUMENTED_STATUSES, FAULTS

from ..events import ROUTE

#: Every error status the mock Segmind can be told to answer.
MOCK_ERROR_STATUSES = tuple(sorted(DOCUMENTED_STATUSES))
#: Transport faults that end quickly; ``hang`` is planned apart, since each costs a deadline.
QUICK_FAULTS = tuple(sorted(FAULTS - {"hang"}))
#: What the gateway must answer to requests that it refuses itself, whatever the backend does.
REFUSALS = {
    "bad_field": 400,
    "unknown_key": 401,
    "disabled_key": 403,
    "unknown_model": 404,
    "no_credits": 406,
}
#: Kinds of request and their share of the run; the rest of each request is drawn per kind.
KIND_WEIGHTS = {
    "hot": 0.38,  # one of a few prompts asked again and again: cache hits
    "fresh": 0.42,  # a prompt never asked before: a render
    "random_seed": 0.06,  # seed -1: a render with a seed the gateway picks
    "bad_field": 0.03,
    "unknown_key": 0.03,
    "disabled_key": 0.02,
    "unknown_model": 0.03,
    "no_credits": 0.03,
}
HOT_PROMPTS = 40
#: Runs of back-to-back 429s in the backend plan, and their length (the gateway tries 4 times).
RATE_LIMIT_RUNS = 2
RATE_LIMIT_RUN_LENGTH = 48


@dataclass(frozen=True)
class Keys:
    """The run's own keys: exact accounting needs a key that nothing else spends."""

    chaos: str
    chaos_id: str
    credits: int
    empty: str
    empty_id: str
    disabled: str


@dataclass(frozen=True)
class Planned:
    """One client request, decided before the run so that a seed repeats it."""

    index: int
    kind: str
    path: str
    key: str
    body: dict[str, Any]


def backend_plan(
    rng: random.Random, attempts: int, failure_rate: float, hangs: int
) -> list[dict[str, Any]]:
    """Queued mock answers: every status and fault at least a few times, hangs near the start.

    Hangs go first so that the deadline they cost overlaps the run instead of lengthening it.
    A lone 429 is always retried away, so a few runs of them are queued back to back: a
    request that meets one of those runs outlasts the gateway's attempts and must come back
    as a 429 with ``Retry-After``, not as something else.
    """
    failures = [{"status": s} for s in MOCK_ERROR_STATUSES] + [{"fault": f} for f in QUICK_FAULTS]
    every = failures * 3  # every kind at least three times, at distinct places
    # Room for the hangs, the runs of 429s and every kind, however short the run.
    attempts = max(attempts, hangs + RATE_LIMIT_RUNS * RATE_LIMIT_RUN_LENGTH + 2 * len(every))
    plan: list[dict[str, Any]] = []
    for _ in range(attempts):
        roll = rng.random()
        if roll < failure_rate:
            entry: dict[str, Any] = dict(rng.choice(failures))
            if rng.random() < 0.2:
                entry["delay_ms"] = rng.randint(5, 150)  # a slow failure
        elif roll < failure_rate + 0.08:
            entry = {"delay_ms": rng.randint(50, 400)}  # a slow, normal render
        else:
            entry = {"status": 200}
        plan.append(entry)
    # Hangs near the start, then the runs of 429s, then every kind in the first places left,
    # so that even a short run plays every kind: nothing placed overwrites what was before.
    taken: set[int] = set()
    early = range(max(hangs, len(plan) // 40))
    for spot in rng.sample(early, hangs):
        plan[spot] = {"fault": "hang"}
        taken.add(spot)
    for _ in range(RATE_LIMIT_RUNS):
        start = rng.randrange(len(plan) // 20, len(plan) - RATE_LIMIT_RUN_LENGTH)
        run = set(range(start, start + RATE_LIMIT_RUN_LENGTH)) - taken
        for spot in run:
            plan[spot] = {"status": 429}
        taken |= run
    free = [spot for spot in range(len(plan)) if spot not in taken][: 2 * len(every)]
    for spot, entry in zip(rng.sample(free, len(every)), every, strict=True):
        plan[spot] = dict(entry)
    return plan


def describe(entry: dict[str, Any]) -> str:
    if "fault" in entry:
        return str(entry["fault"])
    status = entry.get("status", 200)
    return "200" if status == 200 else f"{status}"


def client_plan(rng: random.Random, count: int, keys: Keys, run_tag: str) -> list[Planned]:
    """The requests, by kind; prompts carry the run's tag so that no other run's cache helps."""
    kinds = list(KIND_WEIGHTS)
    weights = list(KIND_WEIGHTS.values())
    hot = [(f"chaos {run_tag} hot {n}", rng.randrange(10**9)) for n in range(HOT_PROMPTS)]
    planned = []
    for index in range(count):
        kind = rng.choices(kinds, weights)[0]
        fresh = f"chaos {run_tag} fresh {index}"
        body: dict[str, Any] = {"prompt": fresh, "seed": rng.randrange(10**12)}
        key, path = keys.chaos, ROUTE
        if kind == "hot":
            prompt, seed = rng.choice(hot)
            body = {"prompt": prompt, "seed": seed}
        elif kind == "fresh":
            body["num_inference_steps"] = rng.randint(4, 10)
        elif kind == "random_seed":
            body["seed"] = -1
        elif kind == "bad_field":
            body["num_inference_steps"] = rng.choice([0, 11, "4", 4.5, True])
        elif kind == "unknown_key":
            key = "vg_" + hashlib.sha256(fresh.encode()).hexdigest()[:43]
        elif kind == "disabled_key":
            key = keys.disabled
        elif kind == "unknown_model":
            path = "/v1/segmind-vega-rt-v2"
        elif kind == "no_credits":
            key = keys.empty
        if rng.random() < 0.2:
            body["base64"] = True
        planned.append(Planned(index, kind, path, key, body))
    return planned
