"""Segmind's v2 asynchronous API in the mock: submit, status, result, and the output file.

What Segmind's SDK 1.3.0 relies on, and nothing it does not: ``POST /v2/<slug>`` answers at
once with absolute ``status_url`` and ``response_url``; the status moves from ``QUEUED``
through ``PROCESSING`` to ``COMPLETED`` on the mock's render delay (read from the mock's
clock, so a test with its own clock steps a job along without sleeping); a failed job answers
HTTP 422 with ``status: FAILED`` and an ``error``, on both reads.

A submit is admitted as v1 admits a render (key, rate window, body, a credit), and a request
v1 would refuse is refused at submit with v1's status and body. A scripted answer (``Prefer``
or the queue) applies to the render behind the job: a forced 500, 502 or 504 ends the job
``FAILED`` with that status's message (and its credit given back, as Segmind bills only
renders it delivers); a forced refusal (400, 401, 403, 404, 406, 429) is the submit's own
answer, as it would be on v1; a transport fault is played on the submit's connection.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .behaviours import Behaviour
from .contract import MESSAGES, MODEL_SLUG
from .jpeg import render_jpeg

V2_ROUTE = f"/v2/{MODEL_SLUG}"
STATUS_PATH = re.compile(r"/v2/requests/([^/]+)/status")
RESULT_PATH = re.compile(r"/v2/requests/([^/]+)")
OUTPUT_PATH = re.compile(r"/v2/outputs/([^/]+)\.jpg")
#: Statuses Segmind decides before a job exists: answered at submit, as v1 answers them.
ADMISSION_STATUSES = frozenset({400, 401, 403, 404, 406, 429})
#: The share of the render delay a job spends ``QUEUED`` before it is ``PROCESSING``.
QUEUED_SHARE = 0.25

QUEUED, PROCESSING, COMPLETED, FAILED = "QUEUED", "PROCESSING", "COMPLETED", "FAILED"


@dataclass(frozen=True)
class MockJob:
    """One submitted render; its status is a function of the time it is asked at."""

    request_id: str
    key: str
    prompt: str
    seed: int
    num_inference_steps: int
    created_at: float
    started_at: float
    ready_at: float
    #: The status a scripted answer made the render end with; ``None`` renders normally.
    failure_status: int | None = None

    def status(self, now: float) -> str:
        if now >= self.ready_at:
            return FAILED if self.failure_status is not None else COMPLETED
        return PROCESSING if now >= self.started_at else QUEUED

    @property
    def error(self) -> str:
        """What a person reads on a failed job: the forced status's message."""
        assert self.failure_status is not None
        return f"{MESSAGES.get(self.failure_status, MESSAGES[500])} ({self.failure_status})"

    def image(self) -> bytes:
        return render_jpeg(self.prompt, self.seed, self.num_inference_steps)


def schedule(
    *,
    request_id: str,
    key: str,
    prompt: str,
    seed: int,
    steps: int,
    now: float,
    latency_ms: int,
    behaviour: Behaviour | None,
) -> MockJob:
    """The job a submit creates: when it starts, when it ends, and how."""
    total = (latency_ms + (behaviour.delay_ms if behaviour else 0)) / 1000
    status = behaviour.status if behaviour else None
    return MockJob(
        request_id=request_id,
        key=key,
        prompt=prompt,
        seed=seed,
        num_inference_steps=steps,
        created_at=now,
        started_at=now + total * QUEUED_SHARE,
        ready_at=now + total,
        failure_status=status if status not in (None, 200) else None,
    )


def public_base(headers: Mapping[str, str], fallback: str) -> str:
    """``http://host:port`` as the client reached the mock, for the absolute URLs it hands out.

    The ``Host`` header is the client's own view (a name, an IPv6 literal, a forwarded port);
    one that does not look like a host is replaced by the address the mock listens on.
    """
    host = headers.get("host", "")
    if not re.fullmatch(r"[A-Za-z0-9.\-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?", host):
        return fallback
    return f"http://{host}"


def submit_document(job: MockJob, base: str) -> dict[str, str]:
    """The submit's 200: the id and where to poll, as absolute URLs."""
    status_url = f"{base}/v2/requests/{job.request_id}/status"
    return {
        "request_id": job.request_id,
        "status": QUEUED,
        "status_url": status_url,
        "response_url": f"{base}/v2/requests/{job.request_id}",
        "poll_url": status_url,
    }


def status_document(job: MockJob, now: float) -> tuple[int, dict[str, object]]:
    """``GET .../status``: 200 while it runs or once done, 422 when it failed."""
    status = job.status(now)
    document: dict[str, object] = {"request_id": job.request_id, "status": status}
    if status == FAILED:
        document["error"] = job.error
        return 422, document
    return 200, document


def result_document(job: MockJob, now: float, base: str) -> tuple[int, dict[str, object]]:
    """``GET /v2/requests/<id>``: the output URL once completed, the status body before."""
    status, document = status_document(job, now)
    if document["status"] != COMPLETED:
        return status, document
    took = job.ready_at - job.started_at
    document.update(
        {
            "output": f"{base}/v2/outputs/{job.request_id}.jpg",
            "seed": job.seed,
            "metrics": {"inference_time": round(took, 3)},
        }
    )
    return 200, document
