"""API Gateway's REST events, shaped as AWS sends them: the proxy event and the authorizer's.

The local gateway builds them from real HTTP requests, and the tests build them by hand; both
use these two functions, so that what the functions are tested with is what they are run with.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Mapping
from typing import Any

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


def method_arn(api_id: str, stage: str, method: str, path: str) -> str:
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{api_id}/{stage}/{method}{path}"


def proxy_event(
    *,
    method: str,
    path: str,
    resource: str,
    headers: Mapping[str, str],
    body: bytes | None,
    binary: bool,
    query: Mapping[str, list[str]] | None = None,
    authorizer: Mapping[str, Any] | None = None,
    api_id: str = "abcdef1234",
    stage: str = "prod",
    request_id: str | None = None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """A REST API ``AWS_PROXY`` event. ``binary`` base64-encodes the body, as API Gateway
    does when the request's Content-Type matches a binary media type."""
    if body is None:
        wire_body, is_b64 = None, False
    elif binary:
        wire_body, is_b64 = base64.b64encode(body).decode(), True
    else:
        wire_body, is_b64 = body.decode("utf-8", "replace"), False
    query = query or {}
    context: dict[str, Any] = {
        "resourcePath": resource,
        "httpMethod": method,
        "path": f"/{stage}{path}",
        "stage": stage,
        "requestId": request_id or str(uuid.uuid4()),
        "accountId": ACCOUNT_ID,
        "apiId": api_id,
        "identity": {"sourceIp": source_ip},
        "requestTimeEpoch": int(time.time() * 1000),
    }
    if authorizer:
        context["authorizer"] = dict(authorizer)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": dict(headers),
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": {k: list(v) for k, v in query.items()} or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": context,
        "body": wire_body,
        "isBase64Encoded": is_b64,
    }


def authorizer_event(
    *,
    method: str,
    path: str,
    headers: Mapping[str, str],
    api_id: str = "abcdef1234",
    stage: str = "prod",
) -> dict[str, Any]:
    """The event a REQUEST authorizer receives."""
    return {
        "type": "REQUEST",
        "methodArn": method_arn(api_id, stage, method, path),
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": dict(headers),
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": {},
        "multiValueQueryStringParameters": {},
        "pathParameters": {},
        "stageVariables": {},
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "accountId": ACCOUNT_ID,
            "apiId": api_id,
            "identity": {"sourceIp": "127.0.0.1"},
        },
    }
