"""Credits: one per rendered image, debited atomically before the render, refunded if it fails.

The balance lives in the keys table and changes only through conditional ``UpdateItem`` calls,
so two requests racing for the last credit cannot both win: DynamoDB applies one update, the
other's condition fails. The debit comes *before* the backend call, because debiting after a
render would let a key with one credit start any number of renders at once.

A fault of the table is a fault of the gateway (500): rendering without a debit would give
images away, and the authorizer has already said who the caller is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from vegart.aws import condition_failed
from vegart.errors import ContractError, Forbidden, InsufficientCredits, InternalError, Unauthorized
from vegart.keys import ACTIVE, utc_now
from vegart.observability import logger, metrics

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

_LEDGER_DOWN = "The credit ledger is unavailable; try again later"


class CreditLedger:
    """Debits, refunds and balances of the keys table's ``credits`` attribute."""

    def __init__(self, table: str, client: Callable[[], DynamoDBClient]) -> None:
        self.table = table
        self._client = client

    def debit(self, key_hash: str) -> int:
        """Take one credit for a render about to start; the balance left after it."""
        return self._update("debit", self._debit(key_hash))

    def refund(self, key_hash: str) -> int | None:
        """Give back the credit of a render that failed; ``None`` if that was not possible.

        Never raises: the client must get the render's own error, not the refund's.
        """
        try:
            remaining = self._update("refund", self._refund(key_hash))
        except ContractError as exc:
            logger.error("Credit refund failed", extra={"key_id": key_hash, "error": exc.message})
            metrics.add_metric(name="CreditRefundErrors", unit="Count", value=1)
            return None
        metrics.add_metric(name="CreditRefunds", unit="Count", value=1)
        return remaining

    def debit_item(self, key_hash: str) -> TransactWriteItemTypeDef:
        """The debit as one item of a transaction: a job's credit is held with its record."""
        return {"Update": self._debit(key_hash)}  # type: ignore[typeddict-item]

    def refund_item(self, key_hash: str) -> TransactWriteItemTypeDef:
        """The refund as one item of a transaction: given back with the job's failure."""
        return {"Update": self._refund(key_hash)}  # type: ignore[typeddict-item]

    def balance(self, key_hash: str) -> int:
        """The balance for a cache hit's ``x-remaining-credits``, marking the key as used.

        A hit is free but not open: the same write refuses a key disabled since the
        authorizer's answer was cached (403), as a debit would.
        """
        return self._update(
            "balance",
            self._conditional(
                key_hash,
                UpdateExpression="SET last_used_at = :now",
                ConditionExpression="#status = :active",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":now": {"S": utc_now()}, ":active": {"S": ACTIVE}},
            ),
        )

    def require_credit(self, key_hash: str) -> int:
        """The balance of an active key that can pay for a render, without spending it.

        For a request about to wait on another's render: one that could not be charged for
        a render of its own is refused now (406, or 403 if disabled), not after the wait.
        """
        return self._update(
            "check",
            self._conditional(
                key_hash,
                UpdateExpression="SET last_used_at = :now",
                ConditionExpression="credits >= :one AND #status = :active",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":active": {"S": ACTIVE},
                    ":now": {"S": utc_now()},
                },
            ),
        )

    def _debit(self, key_hash: str) -> dict[str, Any]:
        return self._conditional(
            key_hash,
            UpdateExpression="SET credits = credits - :one, last_used_at = :now",
            ConditionExpression="credits >= :one AND #status = :active",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":active": {"S": ACTIVE},
                ":now": {"S": utc_now()},
            },
        )

    def _refund(self, key_hash: str) -> dict[str, Any]:
        return self._conditional(
            key_hash,
            UpdateExpression="ADD credits :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )

    def _conditional(self, key_hash: str, **request: Any) -> dict[str, Any]:
        """One conditional update of an existing key, as ``UpdateItem`` or a transaction take it.

        The condition always includes the key's existence, so that a key deleted meanwhile
        never comes back as an item that holds nothing but a balance.
        """
        condition = request.pop("ConditionExpression", "")
        request["ConditionExpression"] = " AND ".join(
            part for part in ("attribute_exists(key_id)", condition) if part
        )
        return {"TableName": self.table, "Key": {"key_id": {"S": key_hash}}, **request}

    def _update(self, operation: str, request: dict[str, Any]) -> int:
        """Apply one update; the ``credits`` it leaves."""
        key_hash = request["Key"]["key_id"]["S"]
        try:
            answer = self._client().update_item(ReturnValues="ALL_NEW", **request)
        except ClientError as exc:
            if condition_failed(exc):
                raise self.refusal(key_hash) from None
            raise _ledger_down(operation, exc) from None
        except BotoCoreError as exc:
            raise _ledger_down(operation, exc) from None
        return int(answer["Attributes"]["credits"]["N"])

    def refusal(self, key_hash: str) -> Exception:
        """Why a debit's condition failed: no credits, a disabled key, or no key at all."""
        try:
            answer = self._client().get_item(
                TableName=self.table,
                Key={"key_id": {"S": key_hash}},
                ConsistentRead=True,
                ProjectionExpression="#status",
                ExpressionAttributeNames={"#status": "status"},
            )
        except (ClientError, BotoCoreError) as exc:
            return _ledger_down("check", exc)
        item = answer.get("Item")
        if item is None:
            return Unauthorized()
        if item.get("status", {}).get("S") != ACTIVE:
            return Forbidden("Forbidden. This API key is disabled")
        return InsufficientCredits()


def _ledger_down(operation: str, error: Exception) -> InternalError:
    logger.error(
        "Credit ledger unavailable", extra={"operation": operation, "error": type(error).__name__}
    )
    metrics.add_metric(name="LedgerErrors", unit="Count", value=1)
    return InternalError(_LEDGER_DOWN)
