"""The REQUEST authorizer's decision: who is calling, and which routes their key may reach.

API Gateway caches an authorizer's answer per ``x-api-key`` for the TTL the template sets, and
applies the cached policy to every later request with that key, whatever its path or method.
So the policy names every route the key may use (all methods on each model's route) rather
than the one route that was asked: a key limited to some models is denied the others by the
policy itself, and a cached answer is never wider or narrower than the key. The routes of a
model are its v1 render and its v2 submit; every key may read its own jobs and its own
webhook signing secret.

The answers, as API Gateway turns them into the contract's statuses:

- no ``x-api-key`` header: API Gateway answers 401 without calling us;
- an empty or unknown key: :class:`UnauthorizedError` raised, which API Gateway answers 401;
- a disabled key, or a route of a model the key may not use: a Deny, answered 403;
- otherwise an Allow, with the key's id and label for the function, and the key's id as the
  usage identifier, so that the key's usage plan throttles it (429 with ``Retry-After``).

Any other failure (the keys table unreachable) propagates: API Gateway answers 500 and lets
nothing through.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
    HttpVerb,
)

from vegart.api.routes import JOBS_PREFIX, WEBHOOK_SECRET_ROUTE
from vegart.keys import KeyRecord, KeyStore
from vegart.observability import logger, metrics

#: The exact message API Gateway turns into its UNAUTHORIZED (401) response.
UNAUTHORIZED = "Unauthorized"
API_KEY_HEADER = "x-api-key"
#: ``/v1/<model>`` (a render) and ``/v2/<model>`` (a job) are a model's routes.
MODEL_ROUTE_VERSIONS = ("v1", "v2")


class UnauthorizedError(Exception):
    """Raised with the message "Unauthorized", the only way to make API Gateway answer 401."""

    def __init__(self) -> None:
        super().__init__(UNAUTHORIZED)


def presented_key(event: APIGatewayAuthorizerRequestEvent) -> str:
    """The ``x-api-key`` header, whatever its case."""
    for name, value in (event.headers or {}).items():
        if name.lower() == API_KEY_HEADER:
            return (value or "").strip()
    return ""


def authorize(event: APIGatewayAuthorizerRequestEvent, store: KeyStore) -> dict[str, Any]:
    """The policy for this request's key, or :class:`UnauthorizedError`."""
    plain = presented_key(event)
    if not plain:
        metrics.add_metric(name="AuthMissingKey", unit="Count", value=1)
        raise UnauthorizedError()
    # Keys are printable ASCII (vegart.keys): anything else is no key of ours, and is not
    # hashed, looked up or logged.
    record = store.lookup(plain) if plain.isascii() and plain.isprintable() else None
    if record is None:
        metrics.add_metric(name="AuthUnknownKey", unit="Count", value=1)
        logger.info("Unknown API key", extra={"key_length": len(plain)})
        raise UnauthorizedError()
    return policy_for(event, record)


def policy_for(event: APIGatewayAuthorizerRequestEvent, record: KeyRecord) -> dict[str, Any]:
    """Allow each of the key's model routes and its jobs (all methods), or deny all if it is
    disabled."""
    arn = event.parsed_arn
    response = APIGatewayAuthorizerResponse(
        principal_id=record.key_id,
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        partition=arn.partition,
        context={"keyId": record.key_id, "label": record.label},
        usage_identifier_key=record.key_id,
    )
    logger.append_keys(key_id=record.key_id)
    if not record.active:
        metrics.add_metric(name="AuthDisabledKey", unit="Count", value=1)
        logger.info("Disabled API key")
        response.deny_all_routes()
        return response.asdict()
    for allowed in record.models:
        for version in MODEL_ROUTE_VERSIONS:
            response.allow_route(http_method=HttpVerb.ALL.value, resource=f"/{version}/{allowed}")
    # A key's own jobs, whichever model they render: a job id of another key is answered 404
    # by the jobs function, so the policy need not (and, cached per key, could not) name ids.
    response.allow_route(http_method=HttpVerb.ALL.value, resource=f"{JOBS_PREFIX}*")
    response.allow_route(http_method=HttpVerb.ALL.value, resource=WEBHOOK_SECRET_ROUTE)
    model = _model_of(event)
    if model is not None and not record.may_use(model):
        metrics.add_metric(name="AuthModelDenied", unit="Count", value=1)
        logger.info("Model not allowed for this key", extra={"model": model})
    return response.asdict()


def _model_of(event: APIGatewayAuthorizerRequestEvent) -> str | None:
    """The model a ``/v1/<model>`` or ``/v2/<model>`` route names; ``None`` for other routes."""
    parts = event.parsed_arn.resource.strip("/").split("/")
    if len(parts) == 2 and parts[0] in MODEL_ROUTE_VERSIONS:
        return parts[1]
    return None
