"""Webhook signatures the Standard Webhooks way, and each client key's signing secrets.

A receiver must be able to tell that an event came from this gateway, was not altered and is
not a replay. Standard Webhooks (the scheme Replicate and others use, with verifiers in every
language) does that with an HMAC-SHA256 over ``"{webhook-id}.{webhook-timestamp}.{body}"``,
sent as ``webhook-signature: v1,<base64>``. Several space-separated ``v1,`` entries are
allowed, which is how a rotation works without a gap: for a grace period the old and the new
secret both sign, and a receiver that holds either accepts the event.

The secrets live on the key's own item in the keys table (encrypted at rest with KMS), next to
nothing that is printed: :class:`~vegart.keys.KeyRecord` does not read them, so no listing,
log line or admin output can carry one. Each is made on first use, by whichever of the secret
read or the sender comes first, with a conditional write so that both agree on it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from vegart.aws import condition_failed
from vegart.errors import ContractError, InternalError, NotFound
from vegart.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SECRET_PREFIX = "whsec_"  # noqa: S105 # nosec B105 # the format's prefix
#: The specification asks for 24 to 64 random bytes.
SECRET_BYTES = 32
#: How long the previous secret keeps signing after a rotation, unless told otherwise.
DEFAULT_GRACE_SECONDS = 24 * 3600

_CURRENT = "webhook_secret"
_PREVIOUS = "webhook_secret_previous"
_PREVIOUS_UNTIL = "webhook_secret_previous_until"
_STORE_DOWN = "The key store is unavailable; try again later"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(os.urandom(SECRET_BYTES)).decode("ascii")


def sign(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of an event with one secret."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = b".".join((event_id.encode(), str(timestamp).encode(), body))
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(secrets: Sequence[str], event_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one entry per secret that signs now."""
    return " ".join(sign(secret, event_id, timestamp, body) for secret in secrets)


@dataclass(frozen=True)
class SigningSecrets:
    """A key's secrets: the current one, and the one it replaced while its grace lasts."""

    current: str
    previous: str | None = None
    previous_until: float = 0.0

    def signing(self, now: float) -> list[str]:
        """The secrets that sign an event sent at ``now``, newest first."""
        if self.previous is not None and now < self.previous_until:
            return [self.current, self.previous]
        return [self.current]


class WebhookSecrets:
    """The signing secrets on the keys table's items, by key id."""

    def __init__(
        self,
        table: str,
        client: Callable[[], DynamoDBClient],
        *,
        clock: Callable[[], float] = time.time,
        generate: Callable[[], str] = new_secret,
    ) -> None:
        self.table = table
        self._client = client
        self._clock = clock
        self._generate = generate

    def get(self, key_id: str) -> SigningSecrets:
        """The key's secrets, made now if it has none; :class:`NotFound` for no such key."""
        found = self._read(key_id)
        if found is not None:
            return found
        answer = self._update(
            key_id,
            f"SET {_CURRENT} = if_not_exists({_CURRENT}, :new)",
            "attribute_exists(key_id)",
            {":new": {"S": self._generate()}},
            NotFound("No such key"),
        )
        secrets = _secrets_of(answer)
        assert secrets is not None  # the update has just written one
        logger.info("Webhook secret created")
        return secrets

    def rotate(self, key_id: str, grace_seconds: float = DEFAULT_GRACE_SECONDS) -> SigningSecrets:
        """Replace the key's secret; the old one keeps signing for ``grace_seconds``.

        The write is conditional on the secret it replaces, so that two rotations at once
        cannot lose the secret in between without its grace.
        """
        before = self.get(key_id)
        until = self._clock() + max(0.0, grace_seconds)
        answer = self._update(
            key_id,
            f"SET {_PREVIOUS} = {_CURRENT}, {_PREVIOUS_UNTIL} = :until, {_CURRENT} = :new",
            f"{_CURRENT} = :seen",
            {
                ":new": {"S": self._generate()},
                ":seen": {"S": before.current},
                ":until": {"N": f"{until:.3f}"},
            },
            InternalError("The secret changed meanwhile; rotate it again"),
        )
        logger.info("Webhook secret rotated", extra={"grace_seconds": grace_seconds})
        rotated = _secrets_of(answer)
        assert rotated is not None
        return rotated

    def _update(
        self,
        key_id: str,
        expression: str,
        condition: str,
        values: dict[str, Any],
        refused: ContractError,
    ) -> dict[str, Any]:
        """One conditional write of the key's item; ``refused`` if its condition fails."""
        try:
            answer = self._client().update_item(
                TableName=self.table,
                Key={"key_id": {"S": key_id}},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if condition_failed(exc):
                raise refused from None
            raise _store_down(exc) from None
        except BotoCoreError as exc:
            raise _store_down(exc) from None
        return dict(answer["Attributes"])

    def _read(self, key_id: str) -> SigningSecrets | None:
        try:
            answer = self._client().get_item(
                TableName=self.table,
                Key={"key_id": {"S": key_id}},
                ProjectionExpression=f"key_id, {_CURRENT}, {_PREVIOUS}, {_PREVIOUS_UNTIL}",
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise _store_down(exc) from None
        item = answer.get("Item")
        if item is None:
            raise NotFound("No such key")
        return _secrets_of(item)


def _secrets_of(item: Mapping[str, Any]) -> SigningSecrets | None:
    def text(name: str) -> str | None:
        value = item.get(name)
        return str(value["S"]) if isinstance(value, dict) and "S" in value else None

    current = text(_CURRENT)
    if current is None:
        return None
    until = item.get(_PREVIOUS_UNTIL)
    return SigningSecrets(
        current=current,
        previous=text(_PREVIOUS),
        previous_until=float(until["N"]) if isinstance(until, dict) and "N" in until else 0.0,
    )


def _store_down(error: Exception) -> InternalError:
    logger.error("Key store unavailable", extra={"error": type(error).__name__})
    return InternalError(_STORE_DOWN)
