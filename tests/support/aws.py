"""The AWS resources of a deployment, made the same way for every test."""

from __future__ import annotations

from typing import Any

import boto3


def create_deployment_resources(
    *, bucket: str, secret_id: str, segmind_key: str, endpoint_url: str | None = None
) -> dict[str, Any]:
    """Create the render cache bucket and the Segmind key secret; return their names."""
    s3 = boto3.client("s3", endpoint_url=endpoint_url)
    s3.create_bucket(Bucket=bucket)
    secrets = boto3.client("secretsmanager", endpoint_url=endpoint_url)
    arn = secrets.create_secret(Name=secret_id, SecretString=segmind_key)["ARN"]
    return {"bucket": bucket, "secret_id": secret_id, "secret_arn": arn}
