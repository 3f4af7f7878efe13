"""A deployment's AWS resources, created from ``template.yaml``'s own definitions.

Tests and the local stack create the same bucket, secret, tables and queues that a
``sam deploy`` would, reading the definitions from the template rather than from a second,
hand-kept list that could drift from it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import boto3

from .context import ACCOUNT_ID, REGION

TEMPLATE_PATH = Path(__file__).resolve().parents[1] / "template.yaml"

#: The properties of an ``AWS::DynamoDB::Table`` that ``CreateTable`` takes as they are.
_TABLE_PROPERTIES = ("KeySchema", "AttributeDefinitions", "BillingMode")
#: The properties of an ``AWS::SQS::Queue`` that are ``CreateQueue`` attributes, by name.
_QUEUE_ATTRIBUTES = ("VisibilityTimeout", "MessageRetentionPeriod", "SqsManagedSseEnabled")


@cache
def template() -> dict[str, Any]:
    """``template.yaml`` as plain data (short-form tags such as ``!Ref`` expanded)."""
    from cfnlint.decode import cfn_yaml  # noqa: PLC0415 - a dev dependency, loaded on use

    loaded: dict[str, Any] = json.loads(json.dumps(cfn_yaml.load(str(TEMPLATE_PATH))))
    return loaded


def table_definition(logical_id: str) -> dict[str, Any]:
    """``CreateTable`` arguments (less the name) for one of the template's tables."""
    properties = template()["Resources"][logical_id]["Properties"]
    return {name: properties[name] for name in _TABLE_PROPERTIES if name in properties}


def parameter_default(name: str) -> str:
    return str(template()["Parameters"][name]["Default"])


def queue_attributes(
    logical_id: str, parameters: Mapping[str, str], dead_letter_arn: str | None = None
) -> dict[str, Any]:
    """``CreateQueue`` attributes for one of the template's queues, its ``!Ref`` parameters
    resolved from ``parameters`` (else their defaults), its redrive aimed at
    ``dead_letter_arn``."""
    properties = template()["Resources"][logical_id]["Properties"]
    attributes: dict[str, Any] = {}
    for name in _QUEUE_ATTRIBUTES:
        value = properties.get(name)
        if isinstance(value, dict) and "Ref" in value:
            value = parameters.get(value["Ref"]) or parameter_default(value["Ref"])
        if value is not None:
            attributes[name] = str(value).lower() if isinstance(value, bool) else str(value)
    redrive = properties.get("RedrivePolicy")
    if redrive is not None:
        if dead_letter_arn is None:
            raise ValueError(f"{logical_id} redrives to a dead-letter queue: name its ARN")
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": redrive["maxReceiveCount"]}
        )
    return attributes


@dataclass(frozen=True)
class Deployment:
    """The names a deployment's functions find in their environment."""

    bucket: str
    secret_id: str
    keys_table: str
    leases_table: str
    jobs_table: str
    job_queue: str
    job_dead_letter_queue: str
    webhook_queue: str
    webhook_dead_letter_queue: str


#: The local stack's resources, in its moto (``make run``).
LOCAL_DEPLOYMENT = Deployment(
    bucket="vegart-local-render-cache",
    secret_id="vegart/local/segmind-api-key",  # nosec B106 # a name, not a secret
    keys_table="vegart-local-keys",
    leases_table="vegart-local-render-leases",
    jobs_table="vegart-local-jobs",
    job_queue="vegart-local-job-queue",
    job_dead_letter_queue="vegart-local-job-dead-letters",
    webhook_queue="vegart-local-webhook-queue",
    webhook_dead_letter_queue="vegart-local-webhook-dead-letters",
)


#: The local stack's SageMaker endpoint, and the inference component on it (the template names
#: both alike); the component's ARN is what a ``!Ref`` of it is.
LOCAL_ENDPOINT = "vegart-local"
LOCAL_COMPONENT_ARN = (
    f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:inference-component/{LOCAL_ENDPOINT}"
)


def create_resources(
    deployment: Deployment,
    *,
    segmind_key: str,
    endpoint_url: str | None = None,
    parameters: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Create the cache bucket, the Segmind secret, the tables and the queues.

    The answer maps each template resource to what its ``!Ref`` is here (a bucket's or a
    table's name, a queue's URL, the secret's ARN): the values the template gives the
    functions' environment.
    """
    parameters = dict(parameters or {})
    s3 = boto3.client("s3", endpoint_url=endpoint_url)
    s3.create_bucket(Bucket=deployment.bucket)
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint_url)
    tables = {
        "KeysTable": deployment.keys_table,
        "RenderLeasesTable": deployment.leases_table,
        "JobsTable": deployment.jobs_table,
    }
    for logical_id, name in tables.items():
        dynamodb.create_table(TableName=name, **table_definition(logical_id))
    sqs: Any = boto3.client("sqs", endpoint_url=endpoint_url)  # attributes by name, as data
    queues: dict[str, str] = {}
    for queue, dead_letters, names in (
        (
            "JobQueue",
            "JobDeadLetterQueue",
            (deployment.job_queue, deployment.job_dead_letter_queue),
        ),
        (
            "WebhookQueue",
            "WebhookDeadLetterQueue",
            (deployment.webhook_queue, deployment.webhook_dead_letter_queue),
        ),
    ):
        queues[dead_letters] = sqs.create_queue(
            QueueName=names[1], Attributes=queue_attributes(dead_letters, parameters)
        )["QueueUrl"]
        dead_letter_arn = sqs.get_queue_attributes(
            QueueUrl=queues[dead_letters], AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        queues[queue] = sqs.create_queue(
            QueueName=names[0], Attributes=queue_attributes(queue, parameters, dead_letter_arn)
        )["QueueUrl"]
    secrets = boto3.client("secretsmanager", endpoint_url=endpoint_url)
    arn = str(secrets.create_secret(Name=deployment.secret_id, SecretString=segmind_key)["ARN"])
    return {
        "CacheBucket": deployment.bucket,
        **tables,
        **queues,
        "SegmindApiKeySecret": arn,
    }
