"""Chaos under load: thousands of concurrent renders while the backend misbehaves on purpose.

Run with ``.venv/bin/python benchmarks/bench_chaos.py`` (it starts its own local stack, as
``bench_local_stack.py`` does); ``tests/e2e/test_chaos.py`` runs :func:`run_chaos` against the
test session's stack and asserts :attr:`Report.violations` is empty.

Unit and contract tests play one fault at a time against an idle gateway. What they cannot
show is what happens when faults land *between* other requests: a retry that races a refund,
a truncated body that reaches the cache while another worker reads the same key, a hang that
holds a worker while the rest keep going. So this run:

1. makes its own keys with ``vegart-admin`` (one with plenty of credits and rate, so that its
   balance can be accounted to the credit; one with none, one disabled), as an operator would;
2. queues in the mock Segmind a seeded random plan: every error status the mock plays, every
   transport fault, a couple of hangs (each costs a worker the gateway's whole deadline) and
   slow normal answers, about a quarter of the backend's answers failing;
3. sends the requests from many workers at once, each with its own ``requests.Session``:
   repeated prompts (cache hits), new prompts, random seeds, base64 answers, and requests that
   the gateway itself must refuse (bad field, unknown key, disabled key, no credits, unknown
   model);
4. checks the invariants that must survive all of it (:func:`check_invariants`): documented
   statuses and error shapes only, no corrupt image served or stored, the same pixels for the
   same inputs, a stored render is served from the cache, and credits debited exactly once per
   rendered image.

One client request may consume several queued answers, since the gateway retries 429, 5xx and
transport faults inside its deadline: the plan is sized in backend *attempts*, and answers past
its end are normal ones.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import random
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import boto3
import requests

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT, ROOT / "layers" / "shared"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from vegart.jpeg import InvalidImage, jpeg_size  # noqa: E402 - needs the path above

#: Every status the contract lets a client see (CONTRACT.md, "Errors").
DOCUMENTED_STATUSES = frozenset({200, 400, 401, 403, 404, 406, 429, 500, 502, 504})
#: Every error status the mock Segmind can be told to answer (mock_server/contract.py).
MOCK_ERROR_STATUSES = (400, 401, 403, 404, 406, 429, 500, 502, 504)
#: Transport faults that end quickly; ``hang`` is planned apart, since each costs a deadline.
QUICK_FAULTS = ("connection_reset", "empty_response", "truncated_body", "garbage_then_close")
CACHE_BUCKET = "vegart-local-render-cache"
IMAGE_SIZE = 1024
#: Longer than the gateway's deadline (25 s) and API Gateway's (29 s): a client timeout is a
#: failure of the gateway, never a way to end a hang early.
CLIENT_TIMEOUT = 40.0
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


class MockControl(Protocol):
    """The mock's admin calls the run needs (:class:`mock_server.MockAdmin` has them)."""

    def enqueue(self, *entries: dict[str, Any]) -> int: ...
    def requests(self) -> list[dict[str, Any]]: ...
    def reset(self) -> None: ...


class StackTarget(Protocol):
    """Where a local stack listens; ``tests/e2e/conftest.RunningStack`` is one."""

    @property
    def url(self) -> str: ...
    @property
    def render_url(self) -> str: ...
    @property
    def aws_url(self) -> str: ...
    @property
    def stack(self) -> str: ...
    @property
    def mock(self) -> MockControl: ...


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


@dataclass
class Outcome:
    """What one client request got, reduced to what the invariants need (no bodies kept)."""

    planned: Planned
    status: int
    started: float
    finished: float
    cache: str | None = None
    remaining: str | None = None
    seed: str | None = None
    digest: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.finished - self.started

    @property
    def spec(self) -> tuple[str, str | None, int] | None:
        """What decides the pixels: prompt, the seed used, steps (None unless it rendered)."""
        if self.status != 200:
            return None
        body = self.planned.body
        return (body["prompt"], self.seed, body.get("num_inference_steps", 4))


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
        return _table(("measure", "value"), rows)

    def _latencies(self) -> str:
        top = max(o.seconds for o in self.outcomes) * 1000
        return f"{self.percentile_ms(0.5):.1f} / {self.percentile_ms(0.99):.1f} / {top:.0f} ms"


def _median_ms(outcomes: list[Outcome], cache: str) -> float:
    samples = [o.seconds for o in outcomes if o.status == 200 and o.cache == cache]
    return statistics.median(samples) * 1000 if samples else float("nan")


def _table(header: tuple[str, ...], rows: list[tuple[str, str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# -- keys, as an operator makes them -----------------------------------------------------------


def admin(target: StackTarget, *arguments: str) -> dict[str, Any]:
    """``vegart-admin ... --json`` against the stack: the operator's path, not a shortcut."""
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "vegart_admin",
            "--stack",
            target.stack,
            "--endpoint-url",
            target.aws_url,
            *arguments,
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(made.stdout)


def create_key(target: StackTarget, label: str, credits: int) -> tuple[str, str]:
    """A fresh key with a rate far above the run's, so that only the chaos decides statuses."""
    made = admin(
        target,
        "keys",
        "create",
        "--label",
        label,
        "--credits",
        str(credits),
        "--rate",
        "10000",
        "--burst",
        "5000",
    )
    return made["api_key"], made["key"]["key_id"]


def balance(target: StackTarget, key_id: str) -> int:
    return int(admin(target, "keys", "show", key_id)["credits"])


def make_keys(target: StackTarget, credits: int) -> Keys:
    chaos, chaos_id = create_key(target, "chaos", credits)
    empty, empty_id = create_key(target, "chaos-empty", 0)
    disabled, disabled_id = create_key(target, "chaos-disabled", 10)
    admin(target, "keys", "disable", disabled_id)
    return Keys(chaos, chaos_id, balance(target, chaos_id), empty, empty_id, disabled)


# -- the plans -----------------------------------------------------------------------------


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
    plan: list[dict[str, Any]] = []
    for _ in range(attempts):
        roll = rng.random()
        if roll < failure_rate:
            entry = dict(rng.choice(failures))
            if rng.random() < 0.2:
                entry["delay_ms"] = rng.randint(5, 150)  # a slow failure
        elif roll < failure_rate + 0.08:
            entry = {"delay_ms": rng.randint(50, 400)}  # a slow, normal render
        else:
            entry = {"status": 200}
        plan.append(entry)
    every = failures * 3  # every kind at least three times, at distinct places
    for spot, entry in zip(rng.sample(range(len(plan)), len(every)), every, strict=True):
        plan[spot] = dict(entry)
    for _ in range(RATE_LIMIT_RUNS):
        start = rng.randrange(len(plan) // 20, len(plan) - RATE_LIMIT_RUN_LENGTH)
        plan[start : start + RATE_LIMIT_RUN_LENGTH] = [{"status": 429}] * RATE_LIMIT_RUN_LENGTH
    early = range(max(hangs, len(plan) // 40))
    for spot in rng.sample(early, hangs):
        plan[spot] = {"fault": "hang"}
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
        key, path = keys.chaos, "/v1/segmind-vega-rt-v1"
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


# -- the load ------------------------------------------------------------------------------


def send(session: requests.Session, base_url: str, planned: Planned) -> Outcome:
    """One request; its answer checked at once, so that no body outlives its worker's turn."""
    started = time.perf_counter()
    try:
        answer = session.post(
            base_url + planned.path,
            json=planned.body,
            headers={"x-api-key": planned.key},
            timeout=CLIENT_TIMEOUT,
        )
    except requests.RequestException as exc:
        outcome = Outcome(planned, 0, started, time.perf_counter())
        outcome.problems.append(f"no answer: {type(exc).__name__}: {exc}")
        return outcome
    outcome = Outcome(
        planned,
        answer.status_code,
        started,
        time.perf_counter(),
        cache=answer.headers.get("x-cache"),
        remaining=answer.headers.get("x-remaining-credits"),
        seed=answer.headers.get("x-seed-value"),
    )
    if answer.status_code == 200:
        inspect_image(answer, outcome)
    else:
        inspect_error(answer, outcome)
    return outcome


def inspect_image(answer: requests.Response, outcome: Outcome) -> None:
    """A 200 must be a whole 1024 x 1024 JPEG (raw or base64) with the contract's headers."""
    content_type = answer.headers.get("Content-Type", "").split(";")[0].strip()
    image = answer.content
    if outcome.planned.body.get("base64"):
        if content_type != "application/json":
            outcome.problems.append(f"base64 answer has Content-Type {content_type!r}")
        try:
            image = base64.b64decode(answer.json()["image"], validate=True)
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            outcome.problems.append(f"base64 answer is not {{'image': <base64>}}: {exc!r}")
            return
    elif content_type != "image/jpeg":
        outcome.problems.append(f"image answer has Content-Type {content_type!r}")
    try:
        size = jpeg_size(image)
    except InvalidImage as exc:
        outcome.problems.append(f"corrupt image served ({len(image)} bytes): {exc}")
        return
    if size != (IMAGE_SIZE, IMAGE_SIZE):
        outcome.problems.append(f"image served is {size[0]} x {size[1]}")
    outcome.digest = hashlib.sha256(image).hexdigest()
    if outcome.cache not in ("HIT", "MISS"):
        outcome.problems.append(f"x-cache is {outcome.cache!r}")
    if outcome.remaining is None or not outcome.remaining.isdigit():
        outcome.problems.append(f"x-remaining-credits is {outcome.remaining!r}")
    asked = outcome.planned.body.get("seed")
    if outcome.seed is None or not outcome.seed.isdigit():
        outcome.problems.append(f"x-seed-value is {outcome.seed!r}")
    elif asked != -1 and int(outcome.seed) != asked:
        outcome.problems.append(f"x-seed-value {outcome.seed} for seed {asked}")


def inspect_error(answer: requests.Response, outcome: Outcome) -> None:
    """Every error is JSON ``{"error": "<message>"}``, whoever made it; a 429 says when."""
    if answer.status_code == 429 and not answer.headers.get("Retry-After", "").isdigit():
        outcome.problems.append(f"429 with Retry-After {answer.headers.get('Retry-After')!r}")
    content_type = answer.headers.get("Content-Type", "").split(";")[0].strip()
    if content_type != "application/json":
        outcome.problems.append(f"error {answer.status_code} has Content-Type {content_type!r}")
    try:
        document = answer.json()
    except ValueError:
        outcome.problems.append(f"error {answer.status_code} body is not JSON: {answer.text!r:.80}")
        return
    if (
        not isinstance(document, dict)
        or set(document) != {"error"}
        or not isinstance(document["error"], str)
        or not document["error"].strip()
    ):
        outcome.problems.append(f"error {answer.status_code} body is {document!r:.120}")


def drive(base_url: str, plan: list[Planned], concurrency: int) -> tuple[list[Outcome], float]:
    """Send ``plan`` from ``concurrency`` workers, each on its own keep-alive session."""
    queue: Iterator[Planned] = iter(plan)
    lock = threading.Lock()
    outcomes: list[Outcome] = []

    def worker() -> None:
        with requests.Session() as session:
            while True:
                with lock:
                    planned = next(queue, None)
                if planned is None:
                    return
                outcome = send(session, base_url, planned)
                with lock:
                    outcomes.append(outcome)

    threads = [threading.Thread(target=worker, name=f"chaos-{n}") for n in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes, key=lambda o: o.planned.index), time.perf_counter() - started


# -- the invariants ------------------------------------------------------------------------


def stored_images(aws_url: str) -> tuple[int, list[str]]:
    """Every object in the render cache, each read whole and checked as a 1024 x 1024 JPEG."""
    s3 = boto3.client(
        "s3",
        endpoint_url=aws_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    problems, count = [], 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=CACHE_BUCKET):
        for item in page.get("Contents", []):
            count += 1
            data = s3.get_object(Bucket=CACHE_BUCKET, Key=item["Key"])["Body"].read()
            try:
                size = jpeg_size(data)
            except InvalidImage as exc:
                problems.append(f"corrupt object stored: {item['Key']} ({len(data)} bytes): {exc}")
                continue
            if size != (IMAGE_SIZE, IMAGE_SIZE):
                problems.append(f"stored object {item['Key']} is {size[0]} x {size[1]}")
    return count, problems


def check_invariants(
    outcomes: list[Outcome], credits_spent: int, stored_problems: list[str], empty_balance: int
) -> list[str]:
    """Everything that must hold however the backend failed; each broken rule, with examples."""
    found: dict[str, list[str]] = defaultdict(list)

    def note(rule: str, outcome: Outcome, detail: str) -> None:
        found[rule].append(f"#{outcome.planned.index} ({outcome.planned.kind}): {detail}")

    by_spec: dict[tuple[str, str | None, int], list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        for problem in outcome.problems:
            note("answers follow the contract", outcome, problem)
        if outcome.status not in DOCUMENTED_STATUSES:
            note("documented statuses only", outcome, f"status {outcome.status}")
        expected = REFUSALS.get(outcome.planned.kind)
        if expected is not None and outcome.status != expected:
            note("the gateway's own refusals", outcome, f"{outcome.status}, not {expected}")
        if outcome.spec is not None:
            by_spec[outcome.spec].append(outcome)

    for served in by_spec.values():
        if len({o.digest for o in served}) > 1:
            note("same inputs, same pixels", served[0], f"{len(served)} answers differ")
        first_done = min(o.finished for o in served)
        for later in served:
            if later.started > first_done and later.cache != "HIT":
                note("a stored render is a cache hit", later, f"x-cache {later.cache}")

    misses = sum(1 for o in outcomes if o.status == 200 and o.cache == "MISS")
    if credits_spent != misses:
        found["one credit per rendered image"].append(
            f"{credits_spent} credits spent for {misses} answers with x-cache MISS"
        )
    if empty_balance != 0:
        found["one credit per rendered image"].append(
            f"the key with no credits ends with {empty_balance}"
        )
    found["no corrupt image stored"].extend(stored_problems)
    return [
        f"{rule}: {len(cases)} case(s), e.g. " + "; ".join(cases[:3])
        for rule, cases in found.items()
        if cases
    ]


def journal_counts(journal: list[dict[str, Any]]) -> Counter[str]:
    """The mock's own account of what the backend answered, attempt by attempt."""
    counts: Counter[str] = Counter()
    for entry in journal:
        outcome = entry.get("outcome") or {}
        if "fault" in outcome:
            counts[str(outcome["fault"])] += 1
        elif "status" in outcome:
            counts[str(outcome["status"])] += 1
        else:
            counts["unsettled"] += 1
    return counts


# -- the run -------------------------------------------------------------------------------


def run_chaos(
    target: StackTarget,
    *,
    requests: int = 2000,
    concurrency: int = 16,
    seed: int = 20260401,
    failure_rate: float = 0.25,
    hangs: int = 2,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Run the chaos against ``target`` and check it; the mock's queue is empty afterwards."""
    say = progress or (lambda _: None)
    rng = random.Random(seed)
    run_tag = f"{seed}-{time.time_ns()}"
    keys = make_keys(target, credits=100_000)
    plan = client_plan(rng, requests, keys, run_tag)
    # A render attempt for each request that may reach the backend, plus the retries.
    attempts = int(sum(k in ("fresh", "random_seed") for k in (p.kind for p in plan)) * 1.25)
    attempts += HOT_PROMPTS * 2
    mock_plan = backend_plan(rng, attempts, failure_rate, hangs)
    target.mock.reset()
    target.mock.enqueue(*mock_plan)
    say(f"queued {len(mock_plan)} backend answers; sending {requests} requests")
    try:
        outcomes, wall = drive(target.url, plan, concurrency)
        journal = target.mock.requests()
    finally:
        target.mock.reset()
    say(f"sent in {wall:.1f} s; checking the cache bucket and the balances")
    stored, stored_problems = stored_images(target.aws_url)
    credits_end = balance(target, keys.chaos_id)
    violations = check_invariants(
        outcomes, keys.credits - credits_end, stored_problems, balance(target, keys.empty_id)
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


# -- as a script: its own stack ------------------------------------------------------------


@dataclass(frozen=True)
class _Started:
    url: str
    render_url: str
    aws_url: str
    stack: str
    mock: MockControl


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed", type=int, default=20260401)
    parser.add_argument("--hangs", type=int, default=2)
    args = parser.parse_args(argv)

    from bench_local_stack import start, stop

    from mock_server import MockAdmin

    process, info, _ = start({})
    try:
        target = _Started(
            url=info["url"],
            render_url=info["render_url"],
            aws_url=info["aws_url"],
            stack=info["stack"],
            mock=MockAdmin(info["mock_url"]),
        )
        report = run_chaos(
            target,
            requests=args.requests,
            concurrency=args.concurrency,
            seed=args.seed,
            hangs=args.hangs,
            progress=lambda line: print(line, file=sys.stderr),
        )
    finally:
        stop(process)
    print(report.markdown())
    for violation in report.violations:
        print(f"- VIOLATION {violation}")
    return 1 if report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
