"""API Gateway REST proxy events and Lambda contexts, shaped as AWS sends them."""

from __future__ import annotations

import base64
import importlib.util
import json
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from local_stack import events
from local_stack.demo import DEMO_KEY, DEMO_KEY_ID, DEMO_LABEL

ROOT = Path(__file__).resolve().parents[2]
ROUTE = "/v1/segmind-vega-rt-v1"
#: The client key of the test deployment (tests/conftest.py stores it with credits): the
#: local stack's demo key, so that the sample events in events/ work against either.
CLIENT_KEY = DEMO_KEY
#: Its id in the keys table, which the authorizer hands the render function.
CLIENT_KEY_ID = DEMO_KEY_ID


@dataclass
class FakeContext:
    """The parts of a Lambda context the functions and Powertools read."""

    function_name: str = "vegart-render"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:vegart-render"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    remaining_ms: int = 28_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def api_event(
    body: Any = None,
    *,
    method: str = "POST",
    path: str = ROUTE,
    headers: dict[str, str] | None = None,
    raw_body: bytes | None = None,
    encode: bool = True,
    key_id: str | None = CLIENT_KEY_ID,
) -> dict[str, Any]:
    """A REST API proxy event, as it reaches the function after the authorizer allowed it.

    With ``*/*`` as a binary media type, API Gateway hands the function every request body
    base64-encoded, so that is the default here too. ``key_id`` is what the authorizer put in
    the request's context; ``None`` leaves the context out.
    """
    if raw_body is None and body is not None:
        raw_body = json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json", "x-api-key": CLIENT_KEY, **(headers or {})}
    authorizer = {"principalId": key_id, "keyId": key_id, "label": DEMO_LABEL} if key_id else None
    return events.proxy_event(
        method=method,
        path=path,
        resource=path,
        headers=all_headers,
        body=raw_body,
        binary=encode,
        authorizer=authorizer,
        stage="Prod",
    )


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


def authorizer_event(
    key: str | None = CLIENT_KEY, *, method: str = "POST", path: str = ROUTE
) -> dict[str, Any]:
    """The event API Gateway sends a REQUEST authorizer whose identity source is x-api-key."""
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["x-api-key"] = key
    return events.authorizer_event(method=method, path=path, headers=headers)


def load_function(name: str) -> ModuleType:
    """Import ``functions/<name>/app.py`` under a unique module name, as Lambda would load it."""
    module_name = f"vegart_function_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "functions" / name / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def response_body(response: dict[str, Any]) -> bytes:
    """The bytes a client receives for a proxy response."""
    body = response.get("body") or ""
    return base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()


def response_json(response: dict[str, Any]) -> Any:
    return json.loads(response_body(response))


def header(response: dict[str, Any], name: str) -> str | None:
    """A response header, looked up case-insensitively in either header field."""
    wanted = name.lower()
    for key, value in (response.get("headers") or {}).items():
        if key.lower() == wanted:
            return value
    for key, values in (response.get("multiValueHeaders") or {}).items():
        if key.lower() == wanted and values:
            return values[-1]
    return None
