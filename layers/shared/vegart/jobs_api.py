"""The HTTP face of v2: submit, status and result, in the shapes Segmind's SDK reads.

The submit's URLs are absolute and built from the request itself (scheme, host and the part
of the path before the route: the stage on ``execute-api``, a base path on a custom domain,
nothing locally), because the SDK requests them as given: one client configured with
``base_url=".../prod/v1"`` finds ``.../prod/v2/requests/...``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from .api import caller, raw_body, request_id
from .cache import RenderCache
from .contract import MODEL_SLUG, parse_json_object, render_request_of
from .jobs import COMPLETED, FAILED, QUEUED, Job
from .observability import logger
from .submissions import JobSubmissions
from .webhook_signatures import WebhookSecrets

SUBMIT_ROUTE = f"/v2/{MODEL_SLUG}"
#: The reads, as Powertools routes them and as API Gateway (and the template) names them.
STATUS_ROUTE = "/v2/requests/<request_id>/status"
RESULT_ROUTE = "/v2/requests/<request_id>"
STATUS_RESOURCE = "/v2/requests/{request_id}/status"
RESULT_RESOURCE = "/v2/requests/{request_id}"
#: Segmind answers a failed job's status and result with this code, and its SDK expects it.
FAILED_STATUS = 422
_HOST = re.compile(r"[A-Za-z0-9.\-]{1,253}(:\d{1,5})?")


def public_base(event: APIGatewayProxyEvent) -> str:
    """``scheme://host[/prefix]`` as the client reached the API.

    API Gateway sets ``X-Forwarded-Proto`` and ``Host``; the prefix is what precedes the
    resource in ``requestContext.path`` (``/prod`` for a stage, a custom domain's base path,
    or nothing). A ``Host`` that is not a host name is not echoed: the API's own domain is.
    """
    headers = event.headers
    scheme = (headers.get("x-forwarded-proto") or "https").split(",")[0].strip().lower()
    if scheme not in ("http", "https"):
        scheme = "https"
    host = (headers.get("host") or "").strip()
    if not _HOST.fullmatch(host):
        host = event.request_context.domain_name or "localhost"
    full_path = event.request_context.path or event.path
    prefix = full_path[: -len(event.path)] if full_path.endswith(event.path) else ""
    return f"{scheme}://{host}{prefix.rstrip('/')}"


def answer_submit(event: APIGatewayProxyEvent, submissions: JobSubmissions) -> Response[Any]:
    """``POST /v2/segmind-vega-rt-v1``: everything v1 checks, then a job, at once."""
    account = caller(event)
    document = parse_json_object(raw_body(event))
    request = render_request_of(document)
    job = submissions.submit(request, account, webhook=document.get("webhook"))
    logger.info("Job submitted", extra={"request_id": job.request_id, "status": job.status})
    status_url = f"{public_base(event)}/v2/requests/{job.request_id}/status"
    answer = {
        "request_id": job.request_id,
        "status": job.status,
        "status_url": status_url,
        "response_url": status_url.removesuffix("/status"),
        "poll_url": status_url,
    }
    return _json(200, answer, event)


def answer_status(
    event: APIGatewayProxyEvent, job_id: str, submissions: JobSubmissions
) -> Response[Any]:
    """``GET /v2/requests/<id>/status``: a cheap read; 422 once the job has failed."""
    return _status_answer(submissions.find(job_id, caller(event)), event)


def answer_result(
    event: APIGatewayProxyEvent,
    job_id: str,
    submissions: JobSubmissions,
    cache: RenderCache,
    url_seconds: int,
) -> Response[Any]:
    """``GET /v2/requests/<id>``: the output's URL, freshly signed, once completed."""
    job = submissions.find(job_id, caller(event))
    if job.status != COMPLETED:
        return _status_answer(job, event)
    document = result_document(job, cache, url_seconds)
    return _json(200, {**document, **delivery_document(job)}, event)


def answer_webhook_secret(event: APIGatewayProxyEvent, secrets: WebhookSecrets) -> Response[Any]:
    """``GET /v2/webhooks/default/secret``: the caller's signing secret, as Replicate has it."""
    signing = secrets.get(caller(event))
    return _json(200, {"key": signing.current}, event)


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


def _status_answer(job: Job, event: APIGatewayProxyEvent) -> Response[Any]:
    document = {**status_document(job), **delivery_document(job)}
    return _json(FAILED_STATUS if job.status == FAILED else 200, document, event)


def _json(status: int, document: dict[str, Any], event: APIGatewayProxyEvent) -> Response[Any]:
    # A job's state changes and its output URL expires: no cache may keep either.
    headers = {"x-request-id": request_id(event), "Cache-Control": "no-store"}
    return Response(status, "application/json", json.dumps(document), headers)
