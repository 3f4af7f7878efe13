"""The HTTP face of a render: from an API Gateway event to the contract's answers.

The function's ``app.py`` only wires these into Powertools' resolver, with the settings and
the render service it built; everything that decides a status, a header or a body lives here,
where it is tested without a Lambda runtime.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from vegart.config import Settings
from vegart.deadline import Deadline
from vegart.errors import ContractError, InternalError, MethodNotAllowed, NotFound, Unauthorized
from vegart.observability import logger, metrics

#: Headers a browser page may read from an answer (docs/contract.md, "CORS").
EXPOSED_HEADERS = [
    "x-seed-value",
    "x-cache",
    "x-remaining-credits",
    "x-request-id",
    "ETag",
    "Retry-After",
]
ALLOWED_HEADERS = ["x-api-key", "content-type"]
PREFLIGHT_MAX_AGE = 600


def cors_config(config: Settings) -> CORSConfig:
    """Powertools' CORS settings from the deployment's allowed origins."""
    origins = config.allowed_origins
    return CORSConfig(
        allow_origin=origins[0],
        extra_origins=list(origins[1:]),
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        max_age=PREFLIGHT_MAX_AGE,
    )


def rest_resolver(config: Settings, methods: Mapping[str, str]) -> APIGatewayRestResolver:
    """Powertools' resolver, answering in the contract's shapes whatever the routes do not.

    ``methods`` maps each resource of the function (as the template names it, such as
    ``/v2/requests/{request_id}``) to its ``Allow`` header. Another method on a resource is a
    405 with that header; a path Powertools cannot match (an id with odd characters) or no
    resource at all is a 404; a :class:`ContractError` is its status and body; anything else
    is logged and answered 500, never with its details.
    """
    app = APIGatewayRestResolver(cors=cors_config(config))

    @app.not_found
    def not_found(_: Exception) -> Response[Any]:
        event = app.current_event
        allow = methods.get(event.resource) or methods.get(event.path)
        allowed = [method.strip() for method in (allow or "").split(",")]
        error: ContractError = NotFound()
        if allow and event.http_method not in allowed:
            error = MethodNotAllowed(headers={"Allow": allow})
        return error_response(error, request_id(event))

    @app.exception_handler(ContractError)  # type: ignore[untyped-decorator] # Powertools: untyped
    def contract_error(error: ContractError) -> Response[Any]:
        return error_response(error, request_id(app.current_event))

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator] # Powertools: untyped
    def unexpected_error(error: Exception) -> Response[Any]:
        logger.exception("Unexpected error", extra={"error": type(error).__name__})
        metrics.add_metric(name="InternalErrors", unit="Count", value=1)
        return error_response(InternalError(), request_id(app.current_event))

    return app


def with_allowed_origin(response: dict[str, Any], config: Settings) -> dict[str, Any]:
    """The proxy answer with ``Access-Control-Allow-Origin``, which every answer carries.

    Powertools adds the CORS headers only when the request names an allowed ``Origin``; a
    request without one (a server, curl, a page whose browser left it out) gets the first
    allowed origin, so that the contract's "every answer" holds. A browser compares it with
    its own origin as always.
    """
    headers = response.setdefault("multiValueHeaders", {})
    present = {name.lower() for name in (*headers, *(response.get("headers") or {}))}
    if "access-control-allow-origin" not in present:
        headers["Access-Control-Allow-Origin"] = [config.allowed_origins[0]]
        headers["Access-Control-Expose-Headers"] = [",".join(EXPOSED_HEADERS)]
    return response


def request_id(event: APIGatewayProxyEvent) -> str:
    """API Gateway's id for the request: the one its access logs and our logs carry."""
    return event.request_context.request_id or ""


def request_deadline(context: Any, config: Settings) -> Deadline:
    """The configured deadline, shortened if Lambda itself has less time left."""
    return Deadline.within_invocation(config.request_deadline_seconds, context)


def raw_body(event: APIGatewayProxyEvent) -> bytes:
    """The request's bytes. Not Powertools' ``decoded_body``, which decodes them as UTF-8 and
    would turn a Latin-1 body into a 500 instead of the contract's 400."""
    body = event.body or ""
    if event.is_base64_encoded:
        try:
            return base64.b64decode(body, validate=False)
        except ValueError:
            return b"\xff"  # not base64 either: certainly not JSON, answered 400
    return body.encode("utf-8", "surrogatepass")


def caller(event: APIGatewayProxyEvent) -> str:
    """The key id that the authorizer put in the request's context.

    A request with none did not pass the authorizer (a misrouted event, a test without one):
    it is refused rather than rendered on nobody's credits.
    """
    key_id = event.request_context.authorizer.get_context().get("keyId")
    if not isinstance(key_id, str) or not key_id:
        raise Unauthorized()
    return key_id


def error_response(error: ContractError, req_id: str) -> Response[Any]:
    """Any non-200 in the contract's one error shape."""
    headers = {"x-request-id": req_id, **error.headers}
    return Response(error.status, "application/json", json.dumps({"error": error.message}), headers)
