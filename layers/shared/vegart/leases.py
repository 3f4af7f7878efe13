"""Render leases: one renderer per image across every Lambda instance, the others wait for it.

A burst of identical new requests (a page shared on social media, a retry storm) would
otherwise call the backend once per request and spend one credit each, for the same pixels.
The first request takes a lease on the image's cache key in DynamoDB; the others see the lease,
poll the cache until the image lands, and are answered from it as cache hits, at no credit.

The lease is a conditional ``PutItem``: it succeeds when no lease exists or the one there has
expired (a renderer that crashed), so taking over a stale lease is as atomic as taking a free
one. A lease lasts as long as its holder's deadline, and DynamoDB's TTL sweeps the leftovers.

Coordination must never cost availability: if the table cannot be reached, the request
renders on its own, as it would without leases.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .aws import error_code
from .observability import logger, metrics

#: Kept beyond the holder's deadline before another request may take the lease over.
_GRACE_SECONDS = 5


class RenderLeases:
    """Leases on cache keys, in the leases table (partition key ``render_key``)."""

    def __init__(
        self, table: str, client: Callable[[], Any], clock: Callable[[], float] = time.time
    ) -> None:
        self.table = table
        self._client = client
        self._clock = clock

    def acquire(self, render_key: str, seconds: float) -> str | None:
        """A token proving the lease, or ``None`` while another request holds it."""
        token = uuid.uuid4().hex
        now = self._clock()
        try:
            self._client().put_item(
                TableName=self.table,
                Item={
                    "render_key": {"S": render_key},
                    "holder": {"S": token},
                    "expires_at": {"N": str(int(now + seconds + _GRACE_SECONDS))},
                },
                ConditionExpression="attribute_not_exists(render_key) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(int(now))}},
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            return self._uncoordinated(exc, token)
        except BotoCoreError as exc:
            return self._uncoordinated(exc, token)
        return token

    def release(self, render_key: str, token: str) -> None:
        """Give the lease up (only our own: a lease taken over since is left alone)."""
        try:
            self._client().delete_item(
                TableName=self.table,
                Key={"render_key": {"S": render_key}},
                ConditionExpression="holder = :token",
                ExpressionAttributeValues={":token": {"S": token}},
            )
        except (ClientError, BotoCoreError) as exc:
            # Harmless: the lease expires on its own; waiters then render themselves.
            logger.info("Render lease not released", extra={"error": type(exc).__name__})

    @staticmethod
    def _uncoordinated(error: Exception, token: str) -> str:
        logger.warning("Render leases unavailable", extra={"error": type(error).__name__})
        metrics.add_metric(name="LeaseErrors", unit="Count", value=1)
        return token
