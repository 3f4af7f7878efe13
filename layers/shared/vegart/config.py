"""Deployment settings, read from the environment that ``template.yaml`` sets, in one place.

Nothing else in the package reads ``os.environ``: a setting that is not here does not exist.
A function's ``app.py`` reads them once, with :meth:`Settings.from_env`, and hands them on;
tests build a :class:`Settings` directly instead of patching the environment piecemeal.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

#: API Gateway gives up on an integration after 29 s; the gateway must answer before that.
API_GATEWAY_TIMEOUT_SECONDS = 29.0
#: Lambda's longest timeout, which bounds a job worker's deadline.
LAMBDA_TIMEOUT_SECONDS = 900.0
#: S3 accepts presigned URLs valid for up to seven days; Lambda's own credentials, which sign
#: them, last less (the URL stops working with them), so the template allows at most 12 hours.
MAX_OUTPUT_URL_SECONDS = 12 * 3600


class ConfigurationError(RuntimeError):
    """A setting is missing or malformed: a deployment mistake, not a client's."""


@dataclass(frozen=True)
class Settings:
    """Everything a deployment decides."""

    backend: str = "segmind"
    segmind_base_url: str = "https://api.segmind.com/v1"
    segmind_secret_id: str = ""
    cache_bucket: str = ""
    keys_table: str = ""
    leases_table: str = ""
    jobs_table: str = ""
    job_queue_url: str = ""
    #: The job queue's dead-letter queue, which the dead-letter handler consumes.
    job_dead_letter_queue_url: str = ""
    webhook_queue_url: str = ""
    #: Whether webhooks may target loopback (and use plain ``http`` there): a local stack's.
    webhook_allow_loopback: bool = False
    #: A job worker's render deadline: its own, longer than a v1 request's.
    job_deadline_seconds: float = 120.0
    #: How long after submit a job that has not ended is given up (``FAILED``, refunded).
    job_timeout_seconds: float = 900.0
    #: How long an output URL works.
    output_url_seconds: int = 3600
    #: Where boto3 finds AWS: empty on AWS; ``sam local`` points it at the local stack's moto.
    aws_endpoint_url: str = ""
    sagemaker_endpoint: str = ""
    #: The inference component on that endpoint whose copies render (empty: the endpoint's
    #: own model, as an endpoint without components serves).
    sagemaker_component: str = ""
    request_deadline_seconds: float = 25.0
    allowed_origins: tuple[str, ...] = ("*",)
    secret_cache_seconds: int = 300
    tracing: bool = False
    #: Prompts are personal data: logged as a hash and a length unless the operator says so.
    log_prompts: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings; a missing optional value keeps its default."""
        env = os.environ if env is None else env
        default = cls()
        deadline = _number(env, "REQUEST_DEADLINE_SECONDS", default.request_deadline_seconds)
        if not 0 < deadline < API_GATEWAY_TIMEOUT_SECONDS:
            raise ConfigurationError(
                f"REQUEST_DEADLINE_SECONDS must be between 0 and {API_GATEWAY_TIMEOUT_SECONDS:g}"
            )
        job_deadline = _number(env, "JOB_DEADLINE_SECONDS", default.job_deadline_seconds)
        if not 0 < job_deadline <= LAMBDA_TIMEOUT_SECONDS:
            raise ConfigurationError(
                f"JOB_DEADLINE_SECONDS must be between 0 and {LAMBDA_TIMEOUT_SECONDS:g}"
            )
        job_timeout = _number(env, "JOB_TIMEOUT_SECONDS", default.job_timeout_seconds)
        if job_timeout <= job_deadline:
            raise ConfigurationError("JOB_TIMEOUT_SECONDS must be longer than JOB_DEADLINE_SECONDS")
        output_url = int(_number(env, "OUTPUT_URL_SECONDS", default.output_url_seconds))
        if not 1 <= output_url <= MAX_OUTPUT_URL_SECONDS:
            raise ConfigurationError(
                f"OUTPUT_URL_SECONDS must be between 1 and {MAX_OUTPUT_URL_SECONDS}"
            )
        origins = tuple(o.strip() for o in env.get("ALLOWED_ORIGINS", "*").split(",") if o.strip())
        return cls(
            backend=env.get("VEGART_BACKEND", default.backend).strip().lower(),
            segmind_base_url=env.get("SEGMIND_BASE_URL", default.segmind_base_url).rstrip("/"),
            segmind_secret_id=env.get("SEGMIND_SECRET_ID", default.segmind_secret_id),
            cache_bucket=env.get("CACHE_BUCKET", default.cache_bucket),
            keys_table=env.get("KEYS_TABLE", default.keys_table),
            leases_table=env.get("LEASES_TABLE", default.leases_table),
            jobs_table=env.get("JOBS_TABLE", default.jobs_table),
            job_queue_url=env.get("JOB_QUEUE_URL", default.job_queue_url),
            job_dead_letter_queue_url=env.get(
                "JOB_DEAD_LETTER_QUEUE_URL", default.job_dead_letter_queue_url
            ),
            webhook_queue_url=env.get("WEBHOOK_QUEUE_URL", default.webhook_queue_url),
            webhook_allow_loopback=_flag(env, "WEBHOOK_ALLOW_LOOPBACK"),
            job_deadline_seconds=job_deadline,
            job_timeout_seconds=job_timeout,
            output_url_seconds=output_url,
            aws_endpoint_url=env.get("VEGART_AWS_ENDPOINT_URL", default.aws_endpoint_url).strip(),
            sagemaker_endpoint=env.get("SAGEMAKER_ENDPOINT_NAME", default.sagemaker_endpoint),
            sagemaker_component=env.get(
                "SAGEMAKER_INFERENCE_COMPONENT", default.sagemaker_component
            ).strip(),
            request_deadline_seconds=deadline,
            allowed_origins=origins or ("*",),
            secret_cache_seconds=int(
                _number(env, "SECRET_CACHE_SECONDS", default.secret_cache_seconds)
            ),
            log_prompts=_flag(env, "LOG_PROMPTS"),
            # Powertools' own switch, so that one variable turns tracing off everywhere.
            tracing=env.get("POWERTOOLS_TRACE_DISABLED", "true").strip().lower()
            not in ("true", "1"),
        )


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "false").strip().lower() in ("true", "1")


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a number, not {raw!r}") from exc
