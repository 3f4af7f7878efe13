"""boto3 clients, created only when first used and then kept by their function instance.

Creating a client costs milliseconds of a cold start; a warm invocation must not pay it again.
Timeouts are short on purpose: the cache and the secret sit on the request's critical path,
and a slow dependency must not eat the render's deadline.

Every client of a process comes from one boto3 session. A session's loader reads and parses
each service's model (megabytes of JSON for DynamoDB) the first time a client of that service
is made, and keeps it for as long as the session lives; a session per client would parse the
same files again for each. On Lambda a process is one instance, so this changes nothing but
the cold start's cost; where one process holds many instances (the local stack, a test
suite loading functions again and again), it is what keeps their memory flat. Sessions are
not safe to make clients from in several threads at once, so that step holds one lock.
"""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

if TYPE_CHECKING:  # the stubs are a development dependency; nothing of them runs on Lambda
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient

_CONFIG = Config(
    connect_timeout=2,
    read_timeout=3,
    retries={"mode": "standard", "max_attempts": 2},
)
#: Presigned URLs in Signature Version 4, which every region accepts (version 2 is retired).
_SIGNER_CONFIG = _CONFIG.merge(Config(signature_version="s3v4"))


_SESSION_LOCK = threading.Lock()


@functools.cache
def _process_session() -> boto3.session.Session:
    """The process's one session, made on first use (call it holding :data:`_SESSION_LOCK`)."""
    return boto3.session.Session()


class AwsClients:
    """The clients of one function instance, one per service (and read timeout)."""

    def __init__(self, endpoint_url: str = "") -> None:
        #: Where boto3 finds AWS: empty on AWS, the local stack's moto under ``sam local``.
        self.endpoint_url = endpoint_url or None
        self._clients: dict[tuple[str, float | None, bool], Any] = {}

    def dynamodb(self) -> DynamoDBClient:
        client: DynamoDBClient = self.client("dynamodb")
        return client

    def s3(self) -> S3Client:
        client: S3Client = self.client("s3")
        return client

    def s3_signer(self) -> S3Client:
        """An S3 client that only signs URLs (in Signature Version 4)."""
        client: S3Client = self.client("s3", signer=True)
        return client

    def sqs(self) -> SQSClient:
        client: SQSClient = self.client("sqs")
        return client

    def secretsmanager(self) -> SecretsManagerClient:
        client: SecretsManagerClient = self.client("secretsmanager")
        return client

    def sagemaker_runtime(self, read_timeout: float) -> SageMakerRuntimeClient:
        client: SageMakerRuntimeClient = self.client("sagemaker-runtime", read_timeout)
        return client

    def client(
        self, service: str, read_timeout: float | None = None, *, signer: bool = False
    ) -> Any:
        """The client for ``service`` (and ``read_timeout``, when a call needs a longer one
        than the default: a render waits on its backend for seconds, a cache read does not)."""
        key = (service, read_timeout, signer)
        existing = self._clients.get(key)
        if existing is not None:
            return existing
        with _SESSION_LOCK:
            if key not in self._clients:
                config = _SIGNER_CONFIG if signer else _CONFIG
                if read_timeout is not None:
                    # One attempt per call: the render's own loop retries within its deadline.
                    config = _CONFIG.merge(
                        Config(read_timeout=read_timeout, retries={"max_attempts": 1})
                    )
                self._clients[key] = _process_session().client(
                    service,  # type: ignore[call-overload] # any service, typed by the methods above
                    config=config,
                    endpoint_url=self.endpoint_url,
                )
            return self._clients[key]


def error_code(error: ClientError) -> str:
    """The AWS error code of a failed call (``ConditionalCheckFailedException`` ...)."""
    return str(error.response.get("Error", {}).get("Code", ""))


def condition_failed(error: ClientError) -> bool:
    """Whether a conditional write was refused because its condition did not hold."""
    return error_code(error) == "ConditionalCheckFailedException"


def cancellation_reasons(error: ClientError) -> list[str]:
    """Each item's refusal code of a cancelled ``TransactWriteItems`` (``"None"`` for an item
    that was fine, ``"ConditionalCheckFailed"`` ...); empty for any other error."""
    if error_code(error) != "TransactionCanceledException":
        return []
    reasons = error.response.get("CancellationReasons") or []
    return [str(reason.get("Code", "None")) for reason in reasons]
