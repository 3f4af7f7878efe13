"""Segmind's rules, as a function from a request to an answer: no socket in sight.

:func:`answer` decides everything Segmind would (the route, the key, the rate window, the
body, the credits, the image) and what a test scripted instead (``Prefer``, the queue); the
transport only reads the request and plays the :class:`Reply`, so every rule can be read, and
tested, as plain data in and plain data out.
"""

from __future__ import annotations

import base64
import json
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import jobs
from .behaviours import BadBehaviour, Behaviour, parse_prefer
from .contract import (
    MESSAGES,
    MISSING_KEY_MESSAGE,
    MODEL_SLUG,
    InvalidRequest,
    RenderRequest,
    parse_render_request,
)
from .faults import Fault
from .jpeg import render_jpeg
from .state import State

ROUTE = f"/v1/{MODEL_SLUG}"


@dataclass(frozen=True)
class Request:
    """A request as it arrived: ``headers`` with lower-case names, ``body`` its bytes."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes


@dataclass
class Reply:
    """What to send back, after ``delay_ms``: an answer, or a transport ``fault`` instead.

    ``on_abort`` undoes what the rules took for an answer that is never sent (a credit spent
    on a render whose delay the server's stop cut short).
    """

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay_ms: int = 0
    fault: Fault | None = None
    on_abort: Callable[[], None] | None = None

    @classmethod
    def json(cls, status: int, document: Any, headers: dict[str, str] | None = None) -> Reply:
        return cls(status, json.dumps(document).encode(), headers=dict(headers or {}))

    @classmethod
    def error(
        cls, status: int, message: str | None = None, headers: dict[str, str] | None = None
    ) -> Reply:
        """Segmind's error shape: ``{"error": ...}``, in its own words unless told others."""
        return cls.json(status, {"error": message or MESSAGES[status]}, headers)


def answer(state: State, request: Request) -> Reply:
    """What Segmind answers ``request``, unless a test scripted something else for it."""
    base = {"x-request-id": state.request_id()}
    if request.path.startswith("/v2/"):
        return _v2(state, request, base)
    if request.path != ROUTE:
        message = MESSAGES[404] if request.path.startswith("/v1/") else "Not found"
        return Reply.error(404, message, base)
    if request.method != "POST":
        return Reply.error(405, "Method not allowed", {**base, "Allow": "POST"})
    try:
        behaviour = parse_prefer(request.headers.get("prefer"))
    except BadBehaviour as exc:
        return Reply.error(400, f"Prefer header: {exc}", base)
    if behaviour is None:
        behaviour = state.next_behaviour()
    if behaviour is None:
        return _render(state, request, base)
    reply = _scripted(state, behaviour, request, base)
    reply.delay_ms += behaviour.delay_ms
    return reply


def _scripted(state: State, behaviour: Behaviour, request: Request, base: dict[str, str]) -> Reply:
    """A scripted behaviour: a fault, a forced status, or the normal answer (late)."""
    if behaviour.fault is not None:
        return Reply(fault=behaviour.fault)
    status = behaviour.status
    if status is None or status == 200:
        return _render(state, request, base)
    headers = dict(base)
    if status == 429:
        # A forced limit ends within a second, so that "429, 429, then 200" stays retryable.
        headers.update(_rate_headers(state, math.floor(state.now()) + 1))
    headers.update(behaviour.headers)
    return Reply.error(status, None, headers)


def _v2(state: State, request: Request, base: dict[str, str]) -> Reply:
    """Segmind's asynchronous API: submit, status, result, and the output file."""
    path = request.path
    if path == jobs.V2_ROUTE:
        if request.method != "POST":
            return Reply.error(405, "Method not allowed", {**base, "Allow": "POST"})
        return _submit(state, request, base)
    found = (
        jobs.OUTPUT_PATH.fullmatch(path)
        or jobs.STATUS_PATH.fullmatch(path)
        or jobs.RESULT_PATH.fullmatch(path)
    )
    if found is None:
        return Reply.error(404, "Not found", base)
    if request.method not in ("GET", "HEAD"):
        return Reply.error(405, "Method not allowed", {**base, "Allow": "GET"})
    if found.re is jobs.OUTPUT_PATH:
        return _output(state, found[1], base)
    return _read(state, request, found, base)


def _output(state: State, request_id: str, base: dict[str, str]) -> Reply:
    """A completed job's image, as Segmind's storage serves it: no key needed."""
    job = state.job(request_id)
    if job is None or job.status(state.now()) != jobs.COMPLETED:
        return Reply.error(404, "Not found", base)
    return Reply(200, job.image(), "image/jpeg", base)


def _read(state: State, request: Request, found: re.Match[str], base: dict[str, str]) -> Reply:
    """A status or result read of the caller's own job."""
    job = _job_of(state, request, found[1], base)
    if isinstance(job, Reply):
        return job
    now = state.now()
    if found.re is jobs.STATUS_PATH:
        code, document = jobs.status_document(job, now)
    else:
        where = jobs.public_base(request.headers, "http://127.0.0.1")
        code, document = jobs.result_document(job, now, where)
    return Reply.json(code, document, base)


def _submit(state: State, request: Request, base: dict[str, str]) -> Reply:
    """A job for a render v1 would make; what v1 would refuse is refused here, at once."""
    try:
        behaviour = parse_prefer(request.headers.get("prefer"))
    except BadBehaviour as exc:
        return Reply.error(400, f"Prefer header: {exc}", base)
    if behaviour is None:
        behaviour = state.next_behaviour()
    if behaviour is not None and (
        behaviour.fault is not None or behaviour.status in jobs.ADMISSION_STATUSES
    ):
        reply = _scripted(state, behaviour, request, base)
        reply.delay_ms += behaviour.delay_ms
        return reply
    key = request.headers.get("x-api-key")
    admitted = _admit(state, key, request.body, base)
    if isinstance(admitted, Reply):
        return admitted
    assert key is not None
    if state.take_credit(key) is None:
        return Reply.error(406, None, base)
    job = jobs.schedule(
        request_id=state.request_id(),
        key=key,
        prompt=admitted.prompt,
        seed=admitted.seed if admitted.seed != -1 else state.pick_seed(),
        steps=admitted.num_inference_steps,
        now=state.now(),
        latency_ms=state.options.latency_ms,
        behaviour=behaviour,
    )
    if job.failure_status is not None:
        state.refund_credit(key)  # Segmind bills the renders it delivers
    state.add_job(job)
    where = jobs.public_base(request.headers, "http://127.0.0.1")
    return Reply.json(200, jobs.submit_document(job, where), base)


def _job_of(
    state: State, request: Request, request_id: str, base: dict[str, str]
) -> jobs.MockJob | Reply:
    """The caller's own job, or the answer for a missing key, another's job, or no job."""
    key = request.headers.get("x-api-key")
    match state.key_status(key):
        case "missing":
            return Reply.error(401, MISSING_KEY_MESSAGE, base)
        case "unknown":
            return Reply.error(401, None, base)
        case "disabled":
            return Reply.error(403, None, base)
    job = state.job(request_id)
    if job is None or job.key != key:
        return Reply.error(404, "Request not found", base)
    return job


def _render(state: State, request: Request, base: dict[str, str]) -> Reply:
    """The normal answer: Segmind's checks in its order (key, rate, body), a credit, an image."""
    key = request.headers.get("x-api-key")
    admitted = _admit(state, key, request.body, base)
    if isinstance(admitted, Reply):
        return admitted
    assert key is not None
    seed = admitted.seed if admitted.seed != -1 else state.pick_seed()
    left = state.take_credit(key)
    if left is None:
        return Reply.error(406, None, base)
    started = time.perf_counter()
    image = render_jpeg(admitted.prompt, seed, admitted.num_inference_steps)
    # The render's time, the render delay included: what Segmind reports its model took.
    took = time.perf_counter() - started + state.options.latency_ms / 1000
    headers = {
        **base,
        "x-seed-value": str(seed),
        "x-remaining-credits": str(left),
        "x-generation-time": f"{took:.3f}",
    }
    if admitted.base64:
        reply = Reply.json(200, {"image": base64.b64encode(image).decode()}, headers)
    else:
        reply = Reply(200, image, "image/jpeg", headers)
    reply.delay_ms = state.options.latency_ms
    reply.on_abort = lambda: state.refund_credit(key)
    return reply


def _admit(
    state: State, key: str | None, raw: bytes, base: dict[str, str]
) -> RenderRequest | Reply:
    match state.key_status(key):
        case "missing":
            return Reply.error(401, MISSING_KEY_MESSAGE, base)
        case "unknown":
            return Reply.error(401, None, base)
        case "disabled":
            return Reply.error(403, None, base)
    assert key is not None
    decision = state.count_request(key)
    if not decision.allowed:
        return Reply.error(429, None, {**base, **_rate_headers(state, decision.reset_at)})
    try:
        return parse_render_request(raw)
    except InvalidRequest as exc:
        return Reply.error(400, str(exc), base)


def _rate_headers(state: State, reset_at: float) -> dict[str, str]:
    headers = {"x-rate-limit-reset-at-utc": utc(reset_at)}
    if state.options.retry_after:
        headers["Retry-After"] = str(max(1, math.ceil(reset_at - state.now())))
    return headers


def utc(timestamp: float) -> str:
    """Segmind's time format: ISO 8601 in UTC with milliseconds and a ``Z``."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
