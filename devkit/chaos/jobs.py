"""Chaos for v2: hundreds of jobs while the backend misbehaves, workers die and SQS repeats.

What it adds to the v1 run (:func:`devkit.chaos.run_chaos`): the faults a queue brings. The
stack it runs against is started with worker kills (``--kill-rate``: instances SIGKILLed at a
random point, before a claim, mid-render or after the end but before the delete), the mock
plays the v1 backend plan (every status and transport fault, runs of 429s), and the driver
sends extra copies of jobs' messages straight into the queue (SQS delivers at least once).
Then every job is polled to its end and the invariants are checked:

- every submit is answered at once with the contract's status (200, or 400/406 refusals);
- every accepted job ends (``COMPLETED`` or ``FAILED``) within the run's bound;
- every ``COMPLETED`` output downloads as a whole 1024 x 1024 JPEG, the same bytes for the
  same inputs, and a job first claimed after the same image was stored is a cache hit;
- credits spent equal jobs rendered (``cache: MISS``), no credit is left held, and every
  failed job was refunded.
"""

from __future__ import annotations

import hashlib
import json
import random
import statistics
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

from vegart.contract import IMAGE_SIZE
from vegart.render.jpeg import InvalidImage, jpeg_size

from ..bench import table
from ..resources import LOCAL_DEPLOYMENT
from ..stack_process import RunningStack, aws_client
from .accounts import balance, make_keys
from .invariants import journal_counts
from .plan import backend_plan, describe

SUBMIT = "/v2/segmind-vega-rt-v1"
#: Kinds of submit and their share; "hot" ones repeat a few prompts (hits, coalescing).
KIND_WEIGHTS = {"fresh": 0.5, "hot": 0.33, "random_seed": 0.05, "bad_field": 0.06, "poor": 0.06}
REFUSED = {"bad_field": 400, "poor": 406}
HOT_PROMPTS = 25
DUPLICATE_SHARE = 0.15
TERMINAL = ("COMPLETED", "FAILED")


@dataclass
class Job:
    """One submit and, if accepted, the job's end as its owner saw it."""

    index: int
    kind: str
    body: dict[str, Any]
    key: str
    submit_status: int = 0
    submit_seconds: float = 0.0
    request_id: str | None = None
    status_url: str = ""
    response_url: str = ""
    submitted_at: float = 0.0
    ended_at: float | None = None
    result: dict[str, Any] = field(default_factory=dict)
    digest: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def spec(self) -> tuple[str, int, int] | None:
        if self.result.get("status") != "COMPLETED":
            return None
        return (
            self.body["prompt"],
            int(self.result["seed"]),
            self.body.get("num_inference_steps", 4),
        )


@dataclass
class JobsReport:
    jobs: list[Job]
    seed: int
    concurrency: int
    wall_seconds: float
    duplicates_sent: int
    takeovers: int
    credits_spent: int
    backend: Counter[str]
    plan: Counter[str]
    violations: list[str]

    def markdown(self) -> str:
        accepted = [j for j in self.jobs if j.request_id]
        ends = Counter(j.result.get("status", "none") for j in accepted)
        caches = Counter(
            j.result.get("cache") for j in accepted if j.result.get("status") == "COMPLETED"
        )
        errors = Counter(
            j.result.get("error") for j in accepted if j.result.get("status") == "FAILED"
        )
        to_end = [j.ended_at - j.submitted_at for j in accepted if j.ended_at is not None]
        submits = [j.submit_seconds for j in self.jobs]
        rows = [
            ("jobs submitted, workers", f"{len(self.jobs)}, {self.concurrency} (seed {self.seed})"),
            ("wall time", f"{self.wall_seconds:.1f} s"),
            (
                "submit answers",
                ", ".join(
                    f"{s}: {n}"
                    for s, n in sorted(Counter(j.submit_status for j in self.jobs).items())
                ),
            ),
            (
                "submit latency median / p99",
                f"{_ms(statistics.median(submits))} / {_ms(_p99(submits))}",
            ),
            ("jobs ended", ", ".join(f"{s}: {n}" for s, n in sorted(ends.items()))),
            ("completed: MISS / HIT", f"{caches.get('MISS', 0)} / {caches.get('HIT', 0)}"),
            (
                "failed, by message",
                "; ".join(f"{e}: {n}" for e, n in errors.most_common()) or "none",
            ),
            (
                "submit to end median / p99",
                f"{statistics.median(to_end):.2f} / {_p99(to_end):.2f} s",
            ),
            ("duplicate messages sent", str(self.duplicates_sent)),
            ("jobs taken over after a worker died", str(self.takeovers)),
            ("credits spent", str(self.credits_spent)),
            (
                "backend attempts (mock journal)",
                ", ".join(f"{k}: {n}" for k, n in sorted(self.backend.items())),
            ),
            (
                "queued backend answers",
                ", ".join(f"{k}: {n}" for k, n in sorted(self.plan.items())),
            ),
            ("invariant violations", str(len(self.violations))),
        ]
        return table(("measure", "value"), rows)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, round(0.99 * len(ordered) + 0.5) - 1))]


def plan_jobs(
    rng: random.Random,
    count: int,
    chaos_key: str,
    empty_key: str,
    tag: str,
    *,
    hot_prompts: int = HOT_PROMPTS,
) -> list[Job]:
    hot = [(f"jobs {tag} hot {n}", rng.randrange(10**9)) for n in range(hot_prompts)]
    planned = []
    for index in range(count):
        kind = rng.choices(list(KIND_WEIGHTS), list(KIND_WEIGHTS.values()))[0]
        body: dict[str, Any] = {
            "prompt": f"jobs {tag} fresh {index}",
            "seed": rng.randrange(10**12),
        }
        key = chaos_key
        if kind == "hot":
            prompt, seed = rng.choice(hot)
            body = {"prompt": prompt, "seed": seed}
        elif kind == "fresh":
            body["num_inference_steps"] = rng.randint(4, 10)
        elif kind == "random_seed":
            body["seed"] = -1
        elif kind == "bad_field":
            body["img_width"] = rng.choice([512, "1024", None, 1024.5])
            if body["img_width"] is None:
                body["prompt"] = ""
        elif kind == "poor":
            key = empty_key
        planned.append(Job(index, kind, body, key))
    return planned


def run_job_chaos(
    stack: RunningStack,
    *,
    jobs: int = 500,
    concurrency: int = 12,
    seed: int = 20261201,
    failure_rate: float = 0.2,
    bound_seconds: float = 600.0,
    hot_prompts: int = HOT_PROMPTS,
    progress: Callable[[str], None] | None = None,
) -> JobsReport:
    """Run the v2 chaos against ``stack`` (best started with worker kills) and check it.

    ``hot_prompts`` are the few prompts that a third of the jobs repeat (hits, coalescing):
    a short run wants fewer, so that it repeats each of them for certain."""
    say = progress or (lambda _: None)
    rng = random.Random(seed)
    keys = make_keys(stack, credits=100_000)
    tag = f"{seed}-{time.time_ns()}"
    planned = plan_jobs(rng, jobs, keys.chaos, keys.empty, tag, hot_prompts=hot_prompts)
    renders = sum(j.kind in ("fresh", "random_seed") for j in planned) + hot_prompts
    mock_plan = backend_plan(rng, int(renders * 1.3), failure_rate, hangs=0)
    stack.mock.reset()
    stack.mock.enqueue(*mock_plan)
    submitter = Submitter(stack, seed)
    started = time.perf_counter()
    say(f"queued {len(mock_plan)} backend answers; submitting {jobs} jobs")
    try:
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(submitter.submit, planned))
            say("submitted; polling every job to its end")
            give_up = time.monotonic() + bound_seconds
            list(pool.map(lambda job: _follow(job, give_up), planned))
        journal = stack.mock.requests()
    finally:
        stack.mock.reset()
    wall = time.perf_counter() - started
    records = _job_records(stack)
    spent = keys.credits - balance(stack, keys.chaos_id)
    violations = check_jobs(planned, records, spent, balance(stack, keys.empty_id))
    takeovers = sum(1 for item in records.values() if int(item["attempts"]["N"]) > 1)
    return JobsReport(
        jobs=planned,
        seed=seed,
        concurrency=concurrency,
        wall_seconds=wall,
        duplicates_sent=submitter.duplicates,
        takeovers=takeovers,
        credits_spent=spent,
        backend=journal_counts(journal),
        plan=Counter(describe(entry) for entry in mock_plan),
        violations=violations,
    )


def rng_for(seed: int, index: int) -> random.Random:
    """A job's own draws, the same whatever order the threads take the jobs in."""
    return random.Random(f"{seed}/{index}")


class Submitter:
    """Submits jobs, and sends some of them again straight into the queue (a duplicate)."""

    def __init__(self, stack: RunningStack, seed: int) -> None:
        self.stack, self.seed = stack, seed
        self.sqs = aws_client(stack, "sqs")
        self.queue_url = self.sqs.get_queue_url(QueueName=LOCAL_DEPLOYMENT.job_queue)["QueueUrl"]
        self.duplicates = 0
        self._lock = threading.Lock()

    def submit(self, job: Job) -> None:
        began = time.perf_counter()
        try:
            answer = requests.post(
                self.stack.url + SUBMIT, json=job.body, headers={"x-api-key": job.key}, timeout=40
            )
        except requests.RequestException as exc:
            job.problems.append(f"submit got no answer: {exc!r}")
            return
        job.submit_seconds = time.perf_counter() - began
        job.submit_status = answer.status_code
        job.submitted_at = time.monotonic()
        if answer.status_code != 200:
            return
        body = answer.json()
        job.request_id = body["request_id"]
        job.status_url, job.response_url = body["status_url"], body["response_url"]
        rng = rng_for(self.seed, job.index)
        if rng.random() < DUPLICATE_SHARE:
            copies = rng.randint(1, 2)
            message = json.dumps({"request_id": job.request_id})
            for _ in range(copies):
                self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=message)
            with self._lock:
                self.duplicates += copies


def _follow(job: Job, give_up: float) -> None:
    """Poll a job's status to its end, then read its result and download its output."""
    if job.request_id is None:
        return
    headers = {"x-api-key": job.key}
    while time.monotonic() < give_up:
        status = requests.get(job.status_url, headers=headers, timeout=40)
        state = status.json().get("status")
        if state in TERMINAL:
            if (state == "FAILED") != (status.status_code == 422):
                job.problems.append(f"{state} answered with HTTP {status.status_code}")
            break
        time.sleep(0.2)
    else:
        job.problems.append("did not end within the run's bound")
        return
    job.ended_at = time.monotonic()
    job.result = requests.get(job.response_url, headers=headers, timeout=40).json()
    if job.result.get("status") == "COMPLETED":
        image = requests.get(job.result["output"], timeout=40).content
        try:
            if jpeg_size(image) != (IMAGE_SIZE, IMAGE_SIZE):
                job.problems.append("output is not 1024 x 1024")
        except InvalidImage as exc:
            job.problems.append(f"output is not a whole JPEG ({len(image)} bytes): {exc}")
            return
        job.digest = hashlib.sha256(image).hexdigest()
    elif not job.result.get("error"):
        job.problems.append("a failed job without a message")


def _job_records(stack: RunningStack) -> dict[str, dict[str, Any]]:
    dynamodb = aws_client(stack, "dynamodb")
    records: dict[str, dict[str, Any]] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=LOCAL_DEPLOYMENT.jobs_table):
        for item in page["Items"]:
            records[item["request_id"]["S"]] = item
    return records


def check_jobs(
    jobs: list[Job], records: dict[str, dict[str, Any]], spent: int, empty_balance: int
) -> list[str]:
    """Everything that must hold after the run; each broken rule, with examples."""
    found: dict[str, list[str]] = defaultdict(list)
    for job in jobs:
        _check_job(job, records.get(job.request_id or ""), found)
    by_spec: dict[tuple[str, int, int], list[Job]] = defaultdict(list)
    for job in jobs:
        if job.spec is not None:
            by_spec[job.spec].append(job)
    for same in by_spec.values():
        if len({job.digest for job in same}) > 1:
            found["same inputs, same bytes"].append(f"{len(same)} outputs differ")
        stored = min(_completed_at(records, job) for job in same)
        for job in same:
            claimed = float(records[job.request_id or ""].get("started_at", {"N": "inf"})["N"])
            if claimed > stored and job.result.get("cache") != "HIT":
                found["a stored render is a cache hit"].append(f"#{job.index}")
    rendered = sum(1 for item in records.values() if item.get("cache", {}).get("S") == "MISS")
    charged = sum(1 for item in records.values() if item["credit"]["S"] == "spent")
    if not spent == rendered == charged:
        found["one credit per rendered image"].append(
            f"{spent} credits spent, {rendered} jobs rendered, {charged} charged"
        )
    if empty_balance != 0:
        found["one credit per rendered image"].append(f"the empty key ends with {empty_balance}")
    return [
        f"{rule}: {len(cases)} case(s), e.g. " + "; ".join(cases[:3])
        for rule, cases in found.items()
    ]


def _check_job(job: Job, record: dict[str, Any] | None, found: dict[str, list[str]]) -> None:
    for problem in job.problems:
        found["every job ends, every output is whole"].append(f"#{job.index}: {problem}")
    wanted = REFUSED.get(job.kind, 200)
    if job.submit_status != wanted:
        found["submit answers at once, as v1 would"].append(
            f"#{job.index} ({job.kind}): {job.submit_status}, not {wanted}"
        )
    if job.request_id and record is None:
        found["every accepted job has its record"].append(f"#{job.index}")
    if record is None:
        return
    credit = record["credit"]["S"]
    if credit not in ("spent", "returned", "none"):
        found["no credit left held"].append(f"#{job.index}: {credit}")
    if record["status"]["S"] == "FAILED" and credit != "returned":
        found["a failed job is refunded"].append(f"#{job.index}: {credit}")


def _completed_at(records: dict[str, dict[str, Any]], job: Job) -> float:
    return float(records[job.request_id or ""]["completed_at"]["N"])
