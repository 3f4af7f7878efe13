"""The HTTP face of v2: submit, status and result, in the shapes Segmind's SDK reads.

The submit's URLs are absolute and built from the request itself (scheme, host and the part
of the path before the route: the stage on ``execute-api``, a base path on a custom domain,
nothing locally), because the SDK requests them as given: one client configured with
``base_url=".../prod/v1"`` finds ``.../prod/v2/requests/...``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from vegart.api.rest import caller, raw_body, request_id
from vegart.contract import parse_json_object, render_request_of
from vegart.jobs.documents import delivery_document, result_document, status_document
from vegart.jobs.record import COMPLETED, FAILED, Job
from vegart.jobs.submissions import JobSubmissions
from vegart.observability import logger
from vegart.render.cache import RenderCache
from vegart.webhooks.signatures import WebhookSecrets

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


def _status_answer(job: Job, event: APIGatewayProxyEvent) -> Response[Any]:
    document = {**status_document(job), **delivery_document(job)}
    return _json(FAILED_STATUS if job.status == FAILED else 200, document, event)


def _json(status: int, document: dict[str, Any], event: APIGatewayProxyEvent) -> Response[Any]:
    # A job's state changes and its output URL expires: no cache may keep either.
    headers = {"x-request-id": request_id(event), "Cache-Control": "no-store"}
    return Response(status, "application/json", json.dumps(document), headers)
