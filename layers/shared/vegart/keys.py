"""Client API keys: how they are made, hashed and kept in the keys table.

A key is shown once, when it is made; the table holds only its SHA-256. Keys are 256-bit random
tokens, so an unsalted hash is as strong as the key (no dictionary to try) and it lets the
authorizer find a key with one ``GetItem``, with no scan and no per-key salt to fetch first.

The same item carries the key's credit balance (``credits.py`` changes it atomically), its
rate and burst (which API Gateway enforces through a usage plan) and the id of the API Gateway
key that stands for it in that plan. Its value there is the hash too, never the plain key.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from vegart.aws import condition_failed
from vegart.contract import MODEL_SLUG

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEY_PREFIX = "vg_"
ACTIVE = "active"
DISABLED = "disabled"
#: Every model this gateway serves; a key may use those in its ``models``.
MODELS = (MODEL_SLUG,)
DEFAULT_RATE = 5.0
DEFAULT_BURST = 10
#: The shortest key accepted, for keys that their owner chooses (the local stack's demo key).
MIN_KEY_LENGTH = 20


class KeyNotFound(LookupError):
    """No key with that id; the admin tool reports it, the authorizer answers 401."""


class KeyExists(ValueError):
    """A key id is taken: with 256-bit keys, only a replayed creation gets here."""


def new_key() -> str:
    """A fresh client key: the prefix tells people and secret scanners what it is."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_id(plain_key: str) -> str:
    """The table's id of a key: its SHA-256, hex."""
    # Any text has an id (a lone surrogate, which UTF-8 cannot carry, included): no key is
    # refused by an encoding error.
    return hashlib.sha256(plain_key.encode("utf-8", "surrogatepass")).hexdigest()


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class KeyRecord:
    """One client key, as the keys table holds it."""

    key_id: str
    label: str
    credits: int
    status: str = ACTIVE
    models: tuple[str, ...] = MODELS
    rate: float = DEFAULT_RATE
    burst: int = DEFAULT_BURST
    hint: str = ""
    created_at: str = field(default_factory=utc_now)
    last_used_at: str = ""
    api_key_id: str = ""

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    def may_use(self, model: str) -> bool:
        return model in self.models

    def to_item(self) -> dict[str, Any]:
        """The DynamoDB item, in the low-level client's typed form."""
        item: dict[str, Any] = {
            "key_id": {"S": self.key_id},
            "label": {"S": self.label},
            "credits": {"N": str(self.credits)},
            "status": {"S": self.status},
            "models": {"L": [{"S": model} for model in self.models]},
            "rate": {"N": repr(float(self.rate))},
            "burst": {"N": str(self.burst)},
            "hint": {"S": self.hint},
            "created_at": {"S": self.created_at},
        }
        if self.last_used_at:
            item["last_used_at"] = {"S": self.last_used_at}
        if self.api_key_id:
            item["api_key_id"] = {"S": self.api_key_id}
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> KeyRecord:
        def text(name: str) -> str:
            return str(item.get(name, {}).get("S", ""))

        return cls(
            key_id=text("key_id"),
            label=text("label"),
            credits=int(item["credits"]["N"]),
            status=text("status") or ACTIVE,
            models=tuple(entry["S"] for entry in item.get("models", {}).get("L", [])),
            rate=float(item.get("rate", {}).get("N", DEFAULT_RATE)),
            burst=int(item.get("burst", {}).get("N", DEFAULT_BURST)),
            hint=text("hint"),
            created_at=text("created_at"),
            last_used_at=text("last_used_at"),
            api_key_id=text("api_key_id"),
        )

    def public(self) -> dict[str, Any]:
        """What an operator may see: everything but nothing that could rebuild the key."""
        return {
            "key_id": self.key_id,
            "label": self.label,
            "status": self.status,
            "credits": self.credits,
            "models": list(self.models),
            "rate": self.rate,
            "burst": self.burst,
            "hint": self.hint,
            "created_at": self.created_at,
            "last_used_at": self.last_used_at,
            "api_key_id": self.api_key_id,
        }


def make_record(
    label: str,
    credits: int,
    *,
    plain_key: str | None = None,
    models: tuple[str, ...] = MODELS,
    rate: float = DEFAULT_RATE,
    burst: int = DEFAULT_BURST,
) -> tuple[str, KeyRecord]:
    """A new key and its record. ``plain_key`` is for a demo key chosen by its owner."""
    if credits < 0:
        raise ValueError("credits cannot be negative")
    if rate <= 0 or burst < 1:
        raise ValueError("rate must be above 0 and burst at least 1")
    unknown = sorted(set(models) - set(MODELS))
    if unknown or not models:
        raise ValueError(f"models must be some of {', '.join(MODELS)}; not {unknown or models}")
    plain = plain_key or new_key()
    if len(plain) < MIN_KEY_LENGTH:
        raise ValueError(f"a key must be at least {MIN_KEY_LENGTH} characters long")
    record = KeyRecord(
        key_id=key_id(plain),
        label=label,
        credits=credits,
        models=tuple(models),
        rate=rate,
        burst=burst,
        hint=plain[-4:],
    )
    return plain, record


class KeyStore:
    """The keys table, through the low-level DynamoDB client (cheaper to import and create)."""

    def __init__(self, table: str, client: Callable[[], DynamoDBClient]) -> None:
        self.table = table
        self._client = client

    def get(self, key_hash: str, *, consistent: bool = False) -> KeyRecord | None:
        answer = self._client().get_item(
            TableName=self.table, Key={"key_id": {"S": key_hash}}, ConsistentRead=consistent
        )
        item = answer.get("Item")
        return KeyRecord.from_item(item) if item else None

    def lookup(self, plain_key: str) -> KeyRecord | None:
        """The record of a plain key, as the authorizer asks."""
        return self.get(key_id(plain_key))

    def require(self, key_hash: str) -> KeyRecord:
        record = self.get(key_hash, consistent=True)
        if record is None:
            raise KeyNotFound(key_hash)
        return record

    def add(self, record: KeyRecord) -> KeyRecord:
        """Store a new key; never overwrites one."""
        try:
            self._client().put_item(
                TableName=self.table,
                Item=record.to_item(),
                ConditionExpression="attribute_not_exists(key_id)",
            )
        except ClientError as exc:
            if condition_failed(exc):
                raise KeyExists(record.key_id) from None
            raise
        return record

    def __iter__(self) -> Iterator[KeyRecord]:
        paginator = self._client().get_paginator("scan")
        for page in paginator.paginate(TableName=self.table, ConsistentRead=True):
            for item in page.get("Items", []):
                yield KeyRecord.from_item(item)

    def update(self, key_hash: str, **changes: Any) -> KeyRecord:
        """Set some attributes of an existing key (status, api_key_id, rate, burst ...)."""
        current = self.require(key_hash)
        wanted = replace(current, **changes).to_item()
        names = {f"#{name}": name for name in changes}
        values = {f":{name}": wanted[name] for name in changes}
        answer = self._update(
            key_hash,
            UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in changes),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
        return KeyRecord.from_item(answer["Attributes"])

    def add_credits(self, key_hash: str, credits: int) -> KeyRecord:
        """Top up a balance atomically (a render may be debiting it at the same moment)."""
        if credits <= 0:
            raise ValueError("a top-up must add at least one credit")
        answer = self._update(
            key_hash,
            UpdateExpression="ADD credits :n",
            ExpressionAttributeValues={":n": {"N": str(credits)}},
        )
        return KeyRecord.from_item(answer["Attributes"])

    def delete(self, key_hash: str) -> KeyRecord:
        try:
            answer = self._client().delete_item(
                TableName=self.table,
                Key={"key_id": {"S": key_hash}},
                ConditionExpression="attribute_exists(key_id)",
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if condition_failed(exc):
                raise KeyNotFound(key_hash) from None
            raise
        return KeyRecord.from_item(answer["Attributes"])

    def _update(self, key_hash: str, **request: Any) -> dict[str, Any]:
        try:
            answer = self._client().update_item(
                TableName=self.table,
                Key={"key_id": {"S": key_hash}},
                ConditionExpression="attribute_exists(key_id)",
                ReturnValues="ALL_NEW",
                **request,
            )
        except ClientError as exc:
            if condition_failed(exc):
                raise KeyNotFound(key_hash) from None
            raise
        return dict(answer)
