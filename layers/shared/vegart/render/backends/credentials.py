"""The gateway's own Segmind key, read from Secrets Manager and kept for a while.

Powertools Parameters caches the value for ``max_age`` seconds. When a refresh fails, the last
good value is served instead (stale-if-error): a Secrets Manager blip must not stop renders
that the key, unchanged for months, would happily serve.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from vegart.errors import BadGateway

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
from vegart.observability import logger, metrics


class SecretUnavailable(BadGateway):
    default_message = "The render backend is not configured; please try again later"


class SecretKey:
    """A callable that returns the current value of one secret."""

    def __init__(
        self,
        secret_id: str,
        max_age: int,
        provider: SecretsProvider | None = None,
        *,
        client: Callable[[], SecretsManagerClient] | None = None,
    ) -> None:
        """``provider``, or one made on first use with ``client()``, the Secrets Manager
        client (boto3's default when none is given)."""
        self._secret_id = secret_id
        self._max_age = max_age
        self._provider = provider
        self._client = client
        self._last_good: str | None = None
        self._lock = threading.Lock()

    def _secrets(self) -> SecretsProvider:
        if self._provider is None:
            client = self._client() if self._client is not None else None
            self._provider = SecretsProvider(boto3_client=client)
        return self._provider

    def __call__(self) -> str:
        if not self._secret_id:
            raise SecretUnavailable
        try:
            raw = self._secrets().get(self._secret_id, max_age=self._max_age)
        except GetParameterError:
            with self._lock:
                last = self._last_good
            logger.warning("Secrets Manager read failed", extra={"stale_value_used": bool(last)})
            metrics.add_metric(name="SecretReadErrors", unit="Count", value=1)
            if last is None:
                raise SecretUnavailable from None
            return last
        value = _unwrap(raw if isinstance(raw, str) else str(raw))
        with self._lock:
            self._last_good = value
        return value


def _unwrap(raw: str) -> str:
    """Accept the key as plain text or as ``{"api_key": "..."}``, as consoles tend to store it."""
    text = raw.strip()
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            return text
        if isinstance(document, dict) and isinstance(document.get("api_key"), str):
            return str(document["api_key"]).strip()
    return text
