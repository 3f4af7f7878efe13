"""The chaos run's load: the client plan sent from many workers, each answer checked at once.

No body outlives its worker's turn: each answer is reduced to an :class:`Outcome`, the facts
the invariants need (status, headers, the image's digest) and the problems seen in it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import requests

from vegart.contract import IMAGE_SIZE
from vegart.render.jpeg import InvalidImage, jpeg_size

from .plan import Planned

#: Longer than the gateway's deadline (25 s) and API Gateway's (29 s): a client timeout is a
#: failure of the gateway, never a way to end a hang early.
CLIENT_TIMEOUT = 40.0


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
