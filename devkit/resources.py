"""A deployment's AWS resources, created from ``template.yaml``'s own definitions.

Tests and the local stack create the same bucket, secret and tables that a ``sam deploy``
would, reading the table definitions from the template rather than from a second, hand-kept
list that could drift from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import boto3

TEMPLATE_PATH = Path(__file__).resolve().parents[1] / "template.yaml"

#: The properties of an ``AWS::DynamoDB::Table`` that ``CreateTable`` takes as they are.
_TABLE_PROPERTIES = ("KeySchema", "AttributeDefinitions", "BillingMode")


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


@dataclass(frozen=True)
class Deployment:
    """The names a deployment's functions find in their environment."""

    bucket: str
    secret_id: str
    keys_table: str
    leases_table: str


#: The local stack's resources, in its moto (``make run``).
LOCAL_DEPLOYMENT = Deployment(
    bucket="vegart-local-render-cache",
    secret_id="vegart/local/segmind-api-key",  # nosec B106 # a name, not a secret
    keys_table="vegart-local-keys",
    leases_table="vegart-local-render-leases",
)


def create_resources(
    deployment: Deployment, *, segmind_key: str, endpoint_url: str | None = None
) -> str:
    """Create the cache bucket, the Segmind secret and the tables; the secret's ARN."""
    s3 = boto3.client("s3", endpoint_url=endpoint_url)
    s3.create_bucket(Bucket=deployment.bucket)
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint_url)
    dynamodb.create_table(TableName=deployment.keys_table, **table_definition("KeysTable"))
    dynamodb.create_table(
        TableName=deployment.leases_table, **table_definition("RenderLeasesTable")
    )
    secrets = boto3.client("secretsmanager", endpoint_url=endpoint_url)
    return str(secrets.create_secret(Name=deployment.secret_id, SecretString=segmind_key)["ARN"])
