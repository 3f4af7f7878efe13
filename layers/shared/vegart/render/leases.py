"""Render leases: one renderer per image across every Lambda instance; the others learn its outcome.

A burst of identical new requests (a page shared on social media, a retry storm) would
otherwise call the backend once per request and spend one credit each, for the same pixels.
The first request takes a lease on the image's cache key in DynamoDB and renders; the others
watch the lease. When the holder succeeds it stores the image and gives the lease back, and
the watchers answer from the cache, as hits. When the backend fails it writes the failure on
the lease, and every watcher answers that failure at once: an outage is one attempt per burst,
answered together, never a queue of renders tried one after another.

The lease is an item keyed by the cache key. Taking it is a conditional ``UpdateItem`` that
succeeds when nobody holds it or the holder's time is up (a renderer that crashed), so taking
over a stale lease is as atomic as taking a free one; the failure of the last holder stays on
the item until the next failure replaces it, so a watcher that looks late still reads the
outcome of the attempt it watched. DynamoDB's TTL sweeps what is left.

Coordination must never cost availability: if the table cannot be reached, the request
renders on its own, as it would without leases.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from vegart.aws import condition_failed
from vegart.errors import ContractError, error_for_status
from vegart.observability import logger, metrics

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: Kept beyond the holder's deadline before another request may take the lease over.
_GRACE_SECONDS = 5
#: How long a settled lease's item stays for watchers to read, before TTL may sweep it.
_SETTLED_SECONDS = 60


@dataclass(frozen=True)
class Failure:
    """What a holder's render ended with, for the requests that watched it."""

    holder: str
    status: int
    message: str
    retry_after: int | None = None
    #: The error's class name (``NoCapacity``, say), for an answer of the same kind.
    kind: str = ""

    def error(self) -> ContractError:
        return error_for_status(
            self.status, self.message, retry_after=self.retry_after, kind=self.kind
        )


@dataclass(frozen=True)
class Claim:
    """The outcome of asking for a lease: ours (``token``), or whose it is (``holder``)."""

    token: str | None
    holder: str | None = None


@dataclass(frozen=True)
class Lease:
    """A lease item as a watcher reads it."""

    holder: str | None
    expires_at: float
    failure: Failure | None


class LeasesUnavailable(Exception):
    """The table could not be read: the watcher should render on its own."""


class RenderLeases:
    """Leases on cache keys, in the leases table (partition key ``render_key``)."""

    def __init__(
        self,
        table: str,
        client: Callable[[], DynamoDBClient],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.table = table
        self._client = client
        self._clock = clock

    def acquire(self, render_key: str, seconds: float) -> Claim:
        """The lease with a token proving it, or the token of the request that holds it.

        Knowing the holder from the refusal itself matters: it may fail a moment later, and
        its watchers must recognise its failure as the outcome they waited for.
        """
        token = uuid.uuid4().hex
        now = self._clock()
        try:
            self._client().update_item(
                TableName=self.table,
                Key={"render_key": {"S": render_key}},
                UpdateExpression="SET holder = :token, expires_at = :expires",
                ConditionExpression="attribute_not_exists(holder) OR expires_at < :now",
                ExpressionAttributeValues={
                    ":token": {"S": token},
                    ":expires": {"N": str(int(now + seconds + _GRACE_SECONDS))},
                    ":now": {"N": str(int(now))},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if condition_failed(exc):
                held: Any = exc.response.get("Item") or {}  # ReturnValuesOnConditionCheckFailure
                return Claim(token=None, holder=held.get("holder", {}).get("S"))
            return self._uncoordinated(exc, token)
        except BotoCoreError as exc:
            return self._uncoordinated(exc, token)
        return Claim(token=token)

    def read(self, render_key: str) -> Lease | None:
        """The lease as it is now (``None``: no item); :class:`LeasesUnavailable` on a fault."""
        try:
            answer = self._client().get_item(
                TableName=self.table, Key={"render_key": {"S": render_key}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            logger.warning("Render leases unreadable", extra={"error": type(exc).__name__})
            metrics.add_metric(name="LeaseErrors", unit="Count", value=1)
            raise LeasesUnavailable from None
        item = answer.get("Item")
        if item is None:
            return None
        return Lease(
            holder=item.get("holder", {}).get("S"),
            expires_at=float(item.get("expires_at", {}).get("N", "0")),
            failure=_failure(item),
        )

    def release(self, render_key: str, token: str) -> None:
        """Give the lease up after a success, or a refusal that was the holder's own.

        Only our own: a lease taken over since is left alone. Watchers then find the image in
        the cache, or, if there is none, take the lease and render themselves.
        """
        self._settle(
            render_key,
            token,
            "REMOVE holder SET expires_at = :expires",
            {":expires": {"N": str(int(self._clock() + _SETTLED_SECONDS))}},
        )

    def fail(self, render_key: str, token: str, error: ContractError) -> None:
        """Give the lease up, with the failure that every watcher of it must answer."""
        values: dict[str, Any] = {
            ":expires": {"N": str(int(self._clock() + _SETTLED_SECONDS))},
            ":status": {"N": str(error.status)},
            ":message": {"S": error.message},
            ":retry": {"N": error.headers.get("Retry-After", "0")},
            ":kind": {"S": type(error).__name__},
        }
        self._settle(
            render_key,
            token,
            "REMOVE holder SET expires_at = :expires, failed_holder = :token, "
            "failed_status = :status, failed_message = :message, failed_retry_after = :retry, "
            "failed_kind = :kind",
            values,
        )

    def _settle(self, render_key: str, token: str, update: str, values: dict[str, Any]) -> None:
        try:
            self._client().update_item(
                TableName=self.table,
                Key={"render_key": {"S": render_key}},
                UpdateExpression=update,
                ConditionExpression="holder = :token",
                ExpressionAttributeValues={":token": {"S": token}, **values},
            )
        except (ClientError, BotoCoreError) as exc:
            # Harmless: the lease expires on its own; watchers then render themselves.
            logger.info("Render lease not settled", extra={"error": type(exc).__name__})

    @staticmethod
    def _uncoordinated(error: Exception, token: str) -> Claim:
        logger.warning("Render leases unavailable", extra={"error": type(error).__name__})
        metrics.add_metric(name="LeaseErrors", unit="Count", value=1)
        return Claim(token=token)


def _failure(item: dict[str, Any]) -> Failure | None:
    holder = item.get("failed_holder", {}).get("S")
    if holder is None:
        return None
    retry_after = int(item.get("failed_retry_after", {}).get("N", "0"))
    return Failure(
        holder=holder,
        status=int(item["failed_status"]["N"]),
        message=item.get("failed_message", {}).get("S", ""),
        retry_after=retry_after or None,
        kind=item.get("failed_kind", {}).get("S", ""),
    )
