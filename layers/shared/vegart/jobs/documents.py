"""A job's public documents: what its status and result calls answer, and what its webhook
event carries (the same, less its delivery history). The HTTP answers (``vegart.api.v2``)
and the webhook sender both build them here; neither imports the other.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from vegart.jobs.record import COMPLETED, FAILED, QUEUED, Job
from vegart.render.cache import RenderCache


def result_document(job: Job, cache: RenderCache, url_seconds: int) -> dict[str, Any]:
    """What the result call answers for ``job``, and what its webhook event carries."""
    document = status_document(job)
    if job.status != COMPLETED:
        return document
    expires = datetime.now(UTC).timestamp() + url_seconds
    document.update(
        {
            "output": cache.url_for(job.render_key, url_seconds),
            "output_expires_at": iso(expires),
            "seed": job.spec.seed,
            "cache": "HIT" if job.cache_hit else "MISS",
            "metrics": metrics_of(job),
        }
    )
    return document


def delivery_document(job: Job) -> dict[str, Any]:
    """How a job's webhook event has fared, for its owner's reads (not in the event itself)."""
    if job.webhook is None:
        return {}
    return {
        "webhook": job.webhook,
        "webhook_status": job.webhook_state or "waiting",
        "webhook_attempts": [
            {
                "at": iso(attempt.at),
                "status": attempt.status,
                "error": attempt.error,
                "seconds": attempt.seconds,
            }
            for attempt in job.webhook_attempts
        ],
    }


def status_document(job: Job) -> dict[str, Any]:
    """What a status poll reads: the state, its times, and a failure's message."""
    document: dict[str, Any] = {
        "request_id": job.request_id,
        "status": job.status,
        "created_at": iso(job.created_at),
        "updated_at": iso(job.updated_at),
    }
    if job.started_at is not None:
        document["started_at"] = iso(job.started_at)
    if job.completed_at is not None:
        document["completed_at"] = iso(job.completed_at)
    if job.status == QUEUED and job.waiting_for is not None:
        document["waiting_for"] = job.waiting_for
    if job.status == FAILED:
        document["error"] = job.error or "The render failed"
    return document


def metrics_of(job: Job) -> dict[str, float]:
    """Seconds spent waiting for a worker and rendering (none of either for a cached image)."""
    started = job.started_at if job.started_at is not None else job.created_at
    ended = job.completed_at if job.completed_at is not None else started
    return {
        "queue_seconds": round(max(0.0, started - job.created_at), 3),
        "render_seconds": round(max(0.0, ended - started), 3),
    }


def iso(timestamp: float) -> str:
    """ISO 8601 in UTC with milliseconds, as Segmind writes times."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
