"""Render backends behind one interface, chosen by the deployment's ``VEGART_BACKEND``."""

from __future__ import annotations

import time
from collections.abc import Callable

from vegart.aws import AwsClients
from vegart.config import ConfigurationError, Settings
from vegart.render.backends.base import Backend
from vegart.render.backends.credentials import SecretKey


def make_backend(
    settings: Settings, clients: AwsClients, *, sleep: Callable[[float], None] = time.sleep
) -> Backend:
    """The backend a deployment asked for, waiting out its retries' back-off with ``sleep``;
    an unknown name is a configuration error."""
    if settings.backend == "segmind":
        from vegart.render.backends.segmind import SegmindBackend  # noqa: PLC0415 - only the chosen backend loads

        key = SecretKey(
            settings.segmind_secret_id,
            settings.secret_cache_seconds,
            client=clients.secretsmanager,
        )
        return SegmindBackend(settings.segmind_base_url, key, sleep=sleep)
    if settings.backend == "sagemaker":
        from vegart.render.backends.sagemaker import SageMakerBackend  # noqa: PLC0415

        if not settings.sagemaker_endpoint:
            raise ConfigurationError("VEGART_BACKEND sagemaker needs SAGEMAKER_ENDPOINT_NAME")
        return SageMakerBackend(
            settings.sagemaker_endpoint,
            clients.sagemaker_runtime,
            component=settings.sagemaker_component,
            sleep=sleep,
        )
    raise _unknown(settings)


def backend_identity(settings: Settings) -> tuple[str, str]:
    """The ``(name, model)`` a deployment's backend gives its cache keys, without making it.

    The jobs function decides cache keys but never renders: it needs no endpoint, no secret.
    """
    if settings.backend == "segmind":
        from vegart.render.backends.segmind import SegmindBackend  # noqa: PLC0415

        return SegmindBackend.name, SegmindBackend.model
    if settings.backend == "sagemaker":
        from vegart.render.backends.sagemaker import SageMakerBackend  # noqa: PLC0415

        return SageMakerBackend.name, SageMakerBackend.model
    raise _unknown(settings)


def _unknown(settings: Settings) -> ConfigurationError:
    return ConfigurationError(f"VEGART_BACKEND {settings.backend!r} is not a known backend")


__all__ = ["Backend", "backend_identity", "make_backend"]
