"""The Powertools logger and metrics that every module of the gateway shares, and its tracer.

They are configured by Powertools' own environment variables (``POWERTOOLS_SERVICE_NAME``,
``POWERTOOLS_METRICS_NAMESPACE``, ``POWERTOOLS_LOG_LEVEL``), which ``template.yaml`` sets.

Tracing is a deployment choice (the template's ``EnableTracing``), so a function asks for its
tracer with its settings (:func:`make_tracer`). The X-Ray SDK behind Powertools' Tracer creates
two boto3 clients for sampling as it is imported, which roughly doubles a cold start; a
deployment that does not trace gets a tracer with the same decorators that does nothing, and
never imports the SDK.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics

from vegart.config import Settings

F = TypeVar("F", bound=Callable[..., Any])

logger = Logger()
metrics = Metrics()


class TracerLike(Protocol):
    """What the functions use of a tracer: two decorators that keep a function's type."""

    def capture_lambda_handler(self, handler: F) -> F: ...

    def capture_method(self, method: F) -> F: ...


class NoTracer:
    """The subset of Powertools' Tracer the gateway uses, doing nothing."""

    def capture_lambda_handler(self, handler: F) -> F:
        return handler

    def capture_method(self, method: F) -> F:
        return method

    def put_annotation(self, key: str, value: Any) -> None:
        del key, value


def make_tracer(config: Settings) -> TracerLike:
    """Powertools' Tracer when the deployment traces, else a :class:`NoTracer`."""
    if not config.tracing:
        return NoTracer()
    from aws_lambda_powertools import Tracer  # noqa: PLC0415 - only a tracing deployment pays

    return cast(TracerLike, Tracer())
