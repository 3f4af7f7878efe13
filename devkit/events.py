"""API Gateway's REST events, shaped as AWS sends them: the proxy event and the authorizer's.

The local stack builds them from real HTTP requests, and the tests build them by hand; both
use :func:`proxy_event` and :func:`authorizer_event`, so that what the functions are tested
with is what they are run with. :func:`api_event` and the readers of a proxy answer are the
tests' shorthand over them.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

from .context import ACCOUNT_ID, REGION
from .demo import DEMO_KEY, DEMO_KEY_ID, DEMO_LABEL

ROUTE = "/v1/segmind-vega-rt-v1"
#: The client key of the test deployment: the local stack's demo key, so that the sample events
#: in events/ work against either.
CLIENT_KEY = DEMO_KEY
#: Its id in the keys table, which the authorizer hands the render function.
CLIENT_KEY_ID = DEMO_KEY_ID


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
    path_parameters: Mapping[str, str] | None = None,
    public_path: str | None = None,
) -> dict[str, Any]:
    """A REST API ``AWS_PROXY`` event. ``binary`` base64-encodes the body, as API Gateway
    does when the request's Content-Type matches a binary media type.

    ``public_path`` is the path the client asked for (``requestContext.path``): on the API's
    ``execute-api`` domain the stage comes first (the default), on a custom domain its base
    path, locally nothing."""
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
        "path": f"/{stage}{path}" if public_path is None else public_path,
        "stage": stage,
        "domainName": f"{api_id}.execute-api.{REGION}.amazonaws.com",
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
        "pathParameters": dict(path_parameters) if path_parameters else None,
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


# -- the tests' shorthand --------------------------------------------------------------------


def api_event(
    body: Any = None,
    *,
    method: str = "POST",
    path: str = ROUTE,
    headers: dict[str, str] | None = None,
    raw_body: bytes | None = None,
    encode: bool = True,
    key_id: str | None = CLIENT_KEY_ID,
    resource: str | None = None,
) -> dict[str, Any]:
    """A REST API proxy event, as it reaches the function after the authorizer allowed it.

    With ``*/*`` as a binary media type, API Gateway hands the function every request body
    base64-encoded, so that is the default here too. ``key_id`` is what the authorizer put in
    the request's context; ``None`` leaves the context out. ``resource`` is the template's
    name of the route (``/v2/requests/{request_id}``) when ``path`` has parameters.
    """
    if raw_body is None and body is not None:
        raw_body = json.dumps(body).encode()
    all_headers = {
        "Content-Type": "application/json",
        "x-api-key": CLIENT_KEY,
        # What API Gateway adds on its execute-api domain.
        "Host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "X-Forwarded-Proto": "https",
        **(headers or {}),
    }
    authorizer = {"principalId": key_id, "keyId": key_id, "label": DEMO_LABEL} if key_id else None
    return proxy_event(
        method=method,
        path=path,
        resource=resource or path,
        headers=all_headers,
        body=raw_body,
        binary=encode,
        authorizer=authorizer,
        stage="Prod",
        path_parameters=_parameters(resource, path),
    )


def _parameters(resource: str | None, path: str) -> dict[str, str] | None:
    """``{"request_id": ...}`` for a path on a resource with parameters."""
    if resource is None:
        return None
    names = [part[1:-1] for part in resource.split("/") if part.startswith("{")]
    values = [
        value
        for part, value in zip(resource.split("/"), path.split("/"), strict=False)
        if part.startswith("{")
    ]
    return dict(zip(names, values, strict=True)) or None


def preflight_event(origin: str = "https://app.example.com") -> dict[str, Any]:
    """A browser's CORS preflight for a render: no key, no authorizer, no body."""
    event = api_event(
        None,
        method="OPTIONS",
        key_id=None,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-key,content-type",
        },
    )
    event["headers"].pop("x-api-key")
    event["multiValueHeaders"].pop("x-api-key")
    return event


def key_check_event(
    key: str | None = CLIENT_KEY, *, method: str = "POST", path: str = ROUTE
) -> dict[str, Any]:
    """The event API Gateway sends the REQUEST authorizer, whose identity source is x-api-key."""
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["x-api-key"] = key
    return authorizer_event(method=method, path=path, headers=headers)


def response_body(response: Mapping[str, Any]) -> bytes:
    """The bytes a client receives for a proxy answer."""
    body = response.get("body") or ""
    return base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()


def response_json(response: Mapping[str, Any]) -> Any:
    return json.loads(response_body(response))


def header(response: Mapping[str, Any], name: str) -> str | None:
    """A header of a proxy answer, looked up case-insensitively in either header field."""
    wanted = name.lower()
    for key, value in (response.get("headers") or {}).items():
        if key.lower() == wanted:
            return str(value)
    for key, values in (response.get("multiValueHeaders") or {}).items():
        if key.lower() == wanted and values:
            return str(values[-1])
    return None
