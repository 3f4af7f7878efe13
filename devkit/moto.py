"""moto as a deployment's AWS: its resources made from the template, and DynamoDB's atomicity.

DynamoDB's atomic conditional writes, given to moto:

DynamoDB applies a conditional write to an item atomically: of two requests racing for the
last credit or for a render lease, exactly one passes its condition. moto evaluates the
condition and then writes, in plain Python, so two threads can both pass. The local stack and
the tests stand for DynamoDB's guarantee, not moto's: this lock gives moto's item writes the
same atomicity. What runs under it is moto's own code, unchanged.

Transactions too, as a whole: moto applies a transaction's items one by one and, when one
fails its condition, puts back a copy of the tables taken when the transaction began, which
would undo any other request's write made in between (a debit, a refund). Under the same
(reentrant) lock, a transaction is one step, as on DynamoDB.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3

from vegart.keys import KeyStore, make_record

from .resources import Deployment, create_resources

_ITEM_WRITES = threading.RLock()


@contextmanager
def in_process_aws() -> Iterator[None]:
    """moto in this process, empty, for the ``with`` block: what a test's AWS is.

    moto's ``mock_aws`` throws boto3's default session away while it runs, so that every
    ``boto3.client()`` inside makes a new session and parses its service's model again (a
    fifth of a second a test, for the clients of a deployment); the default session, and what
    it has parsed, is kept instead. Nothing of AWS's state outlives the block.
    """
    from moto import mock_aws  # noqa: PLC0415 - a dev dependency

    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        yield


def make_item_writes_atomic(set_attribute: Callable[[Any, str, Any], None] = setattr) -> None:
    """Serialise moto's ``put_item``, ``update_item``, ``delete_item`` and transactions.

    ``set_attribute`` is ``setattr`` for the local stack's process, or pytest's
    ``monkeypatch.setattr`` so that a test undoes it.
    """
    from moto.dynamodb.models import DynamoDBBackend  # noqa: PLC0415 - a dev dependency

    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        original = getattr(DynamoDBBackend, name)
        if getattr(original, "_atomic", False):
            continue

        def atomic(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with _ITEM_WRITES:
                return _original(self, *args, **kwargs)

        atomic._atomic = True  # type: ignore[attr-defined]
        set_attribute(DynamoDBBackend, name, atomic)


def know_every_scalable_dimension(set_attribute: Callable[[Any, str, Any], None] = setattr) -> None:
    """Let moto's Application Auto Scaling accept every scalable dimension AWS's API model has.

    moto 5.2 checks dimensions against a list of its own that predates inference components
    (``sagemaker:inference-component:DesiredCopyCount``); botocore's service model is the API's
    list. Its other checks (namespace, resource id, the dimension's parts) stay as they are.
    """
    from enum import Enum  # noqa: PLC0415

    import botocore.session  # noqa: PLC0415
    from botocore.model import StringShape  # noqa: PLC0415
    from moto.applicationautoscaling import models, responses  # noqa: PLC0415 - a dev dependency

    model = botocore.session.get_session().get_service_model("application-autoscaling")
    shape = model.shape_for("ScalableDimension")
    assert isinstance(shape, StringShape), shape
    dimensions = shape.enum
    current = Enum(  # type: ignore[misc]  # a functional Enum, its members from the API model
        "ScalableDimensionValueSet", {f"DIMENSION_{i}": value for i, value in enumerate(dimensions)}
    )
    for module in (models, responses):
        set_attribute(module, "ScalableDimensionValueSet", current)


def create_deployment_resources(
    deployment: Deployment, *, segmind_key: str, endpoint_url: str | None = None
) -> dict[str, Any]:
    """Create the deployment's resources; their names, the queues' URLs and the secret's ARN."""
    made = create_resources(deployment, segmind_key=segmind_key, endpoint_url=endpoint_url)
    return {
        "bucket": deployment.bucket,
        "secret_id": deployment.secret_id,
        "secret_arn": made["SegmindApiKeySecret"],
        "keys_table": deployment.keys_table,
        "leases_table": deployment.leases_table,
        "jobs_table": deployment.jobs_table,
        "job_queue_url": made["JobQueue"],
        "job_dead_letter_queue_url": made["JobDeadLetterQueue"],
        "webhook_queue_url": made["WebhookQueue"],
        "webhook_dead_letter_queue_url": made["WebhookDeadLetterQueue"],
    }


def key_store(table: str, endpoint_url: str | None = None) -> KeyStore:
    client = boto3.client("dynamodb", endpoint_url=endpoint_url)
    return KeyStore(table, lambda: client)


def add_key(store: KeyStore, plain_key: str, credits: int, **options: Any) -> str:
    """Store a client key with ``credits``; its id."""
    _, record = make_record(options.pop("label", "test"), credits, plain_key=plain_key, **options)
    return store.add(record).key_id
