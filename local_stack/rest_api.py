"""A small, honest API Gateway: HTTP in, the template's REST API rules, the real functions.

For each request it does what the deployed REST API does, in the same order, with the rules
that :mod:`devkit.api_model` read from ``template.yaml``:

1. match a route, else the ``MISSING_AUTHENTICATION_TOKEN`` gateway response (404);
2. for a route with the authorizer: no identity header is ``UNAUTHORIZED`` (401) without a
   call; otherwise the authorizer function runs (its answer cached per key for the template's
   TTL); "Unauthorized" is 401, any other failure ``AUTHORIZER_FAILURE`` (500), a policy that
   does not allow this method ARN ``ACCESS_DENIED`` (403);
3. with ``ApiKeySourceType: AUTHORIZER``, the usage identifier must be an enabled API key in a
   usage plan of the stage (kept in moto's API Gateway by ``vegart-admin``), else
   ``INVALID_API_KEY``; its plan's rate and burst are a token bucket, ``THROTTLED`` above it;
4. the function gets the proxy event (bodies base64-encoded when the request's type matches a
   binary media type) and the integration timeout (``INTEGRATION_TIMEOUT``, 504); a crash is
   ``INTEGRATION_FAILURE`` (502);
5. a base64 answer is turned into bytes when the request's first ``Accept`` type matches a
   binary media type, as API Gateway does.

It does not do what the template does not ask of API Gateway (no request validation, no
mapping templates). ``GET /`` serves the demo page: the one thing here that is not the API.
"""

from __future__ import annotations

import base64
import fnmatch
import html
import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from devkit.api_model import INTEGRATION_TIMEOUT_SECONDS, ApiModel, Route
from devkit.context import LambdaContext
from devkit.events import authorizer_event, method_arn, proxy_event
from devkit.functions import Handler, InstancePool

from .console import function_scope
from .usage_plans import UsagePlans

log = logging.getLogger("local_stack")
DEMO_PAGE = Path(__file__).resolve().parent / "static" / "index.html"
#: API Gateway refuses payloads above 10 MB.
MAX_PAYLOAD = 10 * 1024 * 1024


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str:
        """The first value of a header, or an empty string."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), "")


class LocalRestApi:
    """The REST API of the template, answering plain HTTP requests."""

    def __init__(
        self,
        model: ApiModel,
        *,
        api_id: str,
        usage_plans: UsagePlans | None,
        demo_key: str = "",
        integration_timeout: float = INTEGRATION_TIMEOUT_SECONDS,
    ) -> None:
        self.model, self.api_id, self.usage_plans = model, api_id, usage_plans
        self.demo_key = demo_key
        self.integration_timeout = integration_timeout
        # One event at a time per instance, as on Lambda: concurrent requests get their own.
        self.handlers: dict[str, Handler] = {
            name: InstancePool(spec.code_dir, spec.handler)
            for name, spec in model.functions.items()
        }
        self._auth_cache: dict[tuple[str, str], tuple[float, Any]] = {}
        self._pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="lambda")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- the request path --------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        """The answer to one request, with API Gateway's ``x-amzn-RequestId`` on it.

        The same id is the proxy event's ``requestContext.requestId``, which the functions log
        and answer as ``x-request-id``: one id follows a request everywhere, as on AWS.
        """
        request_id = str(uuid.uuid4())
        answer = self._answer(method, target, headers, body, request_id)
        answer.headers.append(("x-amzn-RequestId", request_id))
        return answer

    def _answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes, request_id: str
    ) -> Answer:
        url = urlsplit(target)
        path = url.path
        if method == "GET" and path in ("/", "/index.html"):
            return self._demo_page()
        matched = self.model.route(method, path)
        if matched is None:
            return self.gateway_response("MISSING_AUTHENTICATION_TOKEN", headers)
        route, path_parameters = matched
        authorizer_context: dict[str, Any] | None = None
        if route.authorizer:
            outcome = self._authorize(route, method, path, headers)
            if isinstance(outcome, Answer):
                return outcome
            authorizer_context = outcome
        if route.api_key_required:
            refused = self._check_api_key(authorizer_context, headers)
            if refused is not None:
                return refused
        event = proxy_event(
            request_id=request_id,
            method=method,
            path=path,
            resource=route.path,
            headers=self._forwarded(headers),
            body=body or None,
            binary=self._is_binary(headers.get("content-type", "")),
            query=parse_qs(url.query, keep_blank_values=True),
            authorizer=authorizer_context,
            api_id=self.api_id,
            stage=self.model.stage,
            path_parameters=path_parameters,
            # Served at the root, as a custom domain with an empty base path would be: the
            # functions build their absolute URLs from it.
            public_path=path,
        )
        return self._integrate(route, event, headers)

    def _forwarded(self, headers: dict[str, str]) -> dict[str, str]:
        """The request's headers with those API Gateway adds for the integration."""
        forwarded = dict(headers)
        forwarded.setdefault("x-forwarded-proto", "http")
        forwarded.setdefault("x-forwarded-for", "127.0.0.1")
        return forwarded

    def _authorize(
        self, route: Route, method: str, path: str, headers: dict[str, str]
    ) -> Answer | dict[str, Any]:
        authorizer = self.model.authorizers[route.authorizer or ""]
        identity = tuple(headers.get(name.lower(), "") for name in authorizer.identity_headers)
        if not all(value.strip() for value in identity):
            return self.gateway_response("UNAUTHORIZED", headers)
        cache_key = (route.authorizer or "", "\0".join(identity))
        cached = self._auth_cache.get(cache_key)
        if cached and time.monotonic() - cached[0] < authorizer.ttl_seconds:
            policy = cached[1]
        else:
            event = authorizer_event(
                method=method,
                path=path,
                headers=headers,
                api_id=self.api_id,
                stage=self.model.stage,
            )
            spec = self.model.functions[authorizer.function]
            try:
                with function_scope(spec.name):
                    policy = self.handlers[authorizer.function](
                        event, LambdaContext(spec.name, spec.timeout)
                    )
            except Exception as exc:
                name = "UNAUTHORIZED" if str(exc) == "Unauthorized" else "AUTHORIZER_FAILURE"
                if name == "AUTHORIZER_FAILURE":
                    log.warning("authorizer failed: %r", exc)
                return self.gateway_response(name, headers)
            if authorizer.ttl_seconds > 0:
                self._auth_cache[cache_key] = (time.monotonic(), policy)
        arn = method_arn(self.api_id, self.model.stage, method, path)
        if not _allows(policy, arn):
            return self.gateway_response("ACCESS_DENIED", headers)
        context = dict(policy.get("context") or {})
        context["principalId"] = policy.get("principalId", "")
        context["usageIdentifierKey"] = policy.get("usageIdentifierKey", "")
        return context

    def _check_api_key(
        self, context: dict[str, Any] | None, headers: dict[str, str]
    ) -> Answer | None:
        if self.usage_plans is None:
            return None
        if self.model.api_key_source == "AUTHORIZER":
            usage_key = (context or {}).get("usageIdentifierKey", "")
        else:
            usage_key = headers.get("x-api-key", "")
        admitted = self.usage_plans.admit(usage_key) if usage_key else None
        if admitted is None:
            return self.gateway_response("INVALID_API_KEY", headers)
        return None if admitted else self.gateway_response("THROTTLED", headers)

    def _integrate(self, route: Route, event: dict[str, Any], headers: dict[str, str]) -> Answer:
        spec = self.model.functions[route.function]
        context = LambdaContext(spec.name, spec.timeout)
        handler = self.handlers[route.function]
        future = self._pool.submit(self._invoke, spec.name, handler, event, context)
        try:
            result = future.result(timeout=min(self.integration_timeout, spec.timeout))
        except FutureTimeout:
            return self.gateway_response("INTEGRATION_TIMEOUT", headers)
        except Exception:
            log.exception("function %s failed", spec.name)
            return self.gateway_response("INTEGRATION_FAILURE", headers)
        return self._proxy_answer(result, headers)

    @staticmethod
    def _invoke(name: str, handler: Handler, event: dict[str, Any], context: Any) -> Any:
        with function_scope(name):
            return handler(event, context)

    def _proxy_answer(self, result: dict[str, Any], headers: dict[str, str]) -> Answer:
        merged: dict[str, list[str]] = {}
        for name, value in (result.get("headers") or {}).items():
            merged[name] = [str(value)]
        for name, values in (result.get("multiValueHeaders") or {}).items():
            merged[name] = [str(value) for value in values]
        body = result.get("body") or ""
        if result.get("isBase64Encoded") and self._accepts_binary(headers.get("accept", "")):
            payload = base64.b64decode(body)
        else:
            payload = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        pairs = [(name, value) for name, values in merged.items() for value in values]
        return Answer(int(result.get("statusCode", 200)), pairs, payload)

    # -- API Gateway's own answers --------------------------------------------------------

    def gateway_response(self, name: str, headers: dict[str, str]) -> Answer:
        """A gateway response as the template defines it (DEFAULT_4XX/5XX when it has none)."""
        fallback = (
            "DEFAULT_5XX" if name.startswith(("INTEGRATION", "AUTHORIZER")) else "DEFAULT_4XX"
        )
        spec = self.model.responses.get(name) or self.model.responses[fallback]
        pairs = [("Content-Type", "application/json")]
        for header, source in spec.headers.items():
            if source.startswith("'") and source.endswith("'"):
                pairs.append((header, source[1:-1]))
            elif source.startswith("method.request.header."):
                value = headers.get(source.removeprefix("method.request.header.").lower())
                if value:
                    pairs.append((header, value))
        pairs.append(("x-amzn-ErrorType", name))
        return Answer(spec.status, pairs, spec.body.encode("utf-8"))

    def refuse(self, name: str, headers: dict[str, str]) -> Answer:
        """A gateway response for a request that reaches no route, with a request id."""
        answer = self.gateway_response(name, headers)
        answer.headers.append(("x-amzn-RequestId", str(uuid.uuid4())))
        return answer

    def front_door_error(self, status: int, message: str) -> Answer:
        """An error of the HTTP layer itself (framing, version, sizes): the status it needs,
        with the headers of the template's default response and the contract's body."""
        default = self.refuse("DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX", {})
        return Answer(status, default.headers, json.dumps({"error": message}).encode())

    def _demo_page(self) -> Answer:
        page = DEMO_PAGE.read_text(encoding="utf-8").replace(
            "{{DEMO_KEY}}", html.escape(self.demo_key, quote=True)
        )
        return Answer(
            200,
            [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")],
            page.encode("utf-8"),
        )

    def _is_binary(self, content_type: str) -> bool:
        media = content_type.split(";", maxsplit=1)[0].strip().lower() or "application/json"
        return any(fnmatch.fnmatch(media, pattern) for pattern in self.model.binary_media_types)

    def _accepts_binary(self, accept: str) -> bool:
        """API Gateway looks at the first type of ``Accept`` only."""
        first = accept.split(",", maxsplit=1)[0].split(";", maxsplit=1)[0].strip().lower()
        if "*/*" in self.model.binary_media_types:
            return True
        return bool(first) and any(
            fnmatch.fnmatch(first, pattern) or fnmatch.fnmatch(pattern, first)
            for pattern in self.model.binary_media_types
        )


def _allows(policy: dict[str, Any], arn: str) -> bool:
    """IAM's rule for an authorizer policy: an explicit Deny wins, else an Allow is needed."""
    allowed = False
    for statement in policy.get("policyDocument", {}).get("Statement", []):
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        if not any(fnmatch.fnmatchcase(arn, pattern) for pattern in resources):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


__all__ = ["Answer", "LocalRestApi"]
