"""The AWS resources of a test deployment, made the same way for every test."""

from __future__ import annotations

from typing import Any

import boto3

from local_stack.moto_atomicity import make_item_writes_atomic
from local_stack.resources import Deployment, create_resources
from vegart.keys import KeyStore, make_record


def create_deployment_resources(
    deployment: Deployment, *, segmind_key: str, endpoint_url: str | None = None
) -> dict[str, Any]:
    """Create the bucket, the Segmind secret and the keys table; return their names."""
    arn = create_resources(deployment, segmind_key=segmind_key, endpoint_url=endpoint_url)
    return {
        "bucket": deployment.bucket,
        "secret_id": deployment.secret_id,
        "secret_arn": arn,
        "keys_table": deployment.keys_table,
        "leases_table": deployment.leases_table,
    }


def key_store(table: str, endpoint_url: str | None = None) -> KeyStore:
    client = boto3.client("dynamodb", endpoint_url=endpoint_url)
    return KeyStore(table, lambda: client)


def add_key(store: KeyStore, plain_key: str, credits: int, **options: Any) -> str:
    """Store a client key with ``credits``; its id."""
    _, record = make_record(options.pop("label", "test"), credits, plain_key=plain_key, **options)
    return store.add(record).key_id


def atomic_dynamodb_writes(monkeypatch: Any) -> None:
    """moto's item writes made atomic, as DynamoDB's are, for this test only."""
    make_item_writes_atomic(monkeypatch.setattr)
