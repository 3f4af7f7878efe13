"""Render function: ``POST /v1/segmind-vega-rt-v1`` behind API Gateway.

Thin on purpose: it reads the deployment's settings once, builds the render service from them
(lazily, on the first request), routes the event and turns exceptions into answers; every
decision about the request lives in the shared ``vegart`` package (the layer).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from vegart import api
from vegart.config import Settings
from vegart.contract import ROUTE
from vegart.errors import ContractError, InternalError, MethodNotAllowed, NotFound
from vegart.observability import logger, make_tracer, metrics
from vegart.runtime import Wiring

config = Settings.from_env()
wiring = Wiring(config)
tracer = make_tracer(config)
app = APIGatewayRestResolver(cors=api.cors_config(config))


@app.post(ROUTE)
@tracer.capture_method
def post_render() -> Response[Any]:
    return api.answer_render(
        app.current_event, app.lambda_context, config=config, service=wiring.render_service
    )


@app.route(ROUTE, method=["GET", "PUT", "PATCH", "DELETE", "HEAD"])
def wrong_method() -> Response[Any]:
    raise MethodNotAllowed(headers={"Allow": "POST, OPTIONS"})


@app.not_found
def not_found(_: Exception) -> Response[Any]:
    # Any other method on the route (TRACE, PROPFIND ...) reaches here through ANY: a 405.
    if ROUTE in (app.current_event.resource, app.current_event.path):
        error = MethodNotAllowed(headers={"Allow": "POST, OPTIONS"})
        return api.error_response(error, api.request_id(app.current_event))
    return api.error_response(NotFound(), api.request_id(app.current_event))


@app.exception_handler(ContractError)  # type: ignore[untyped-decorator] # Powertools: untyped
def contract_error(error: ContractError) -> Response[Any]:
    return api.error_response(error, api.request_id(app.current_event))


@app.exception_handler(Exception)  # type: ignore[untyped-decorator] # Powertools: untyped
def unexpected_error(error: Exception) -> Response[Any]:
    logger.exception("Unexpected error", extra={"error": type(error).__name__})
    metrics.add_metric(name="InternalErrors", unit="Count", value=1)
    return api.error_response(InternalError(), api.request_id(app.current_event))


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.with_allowed_origin(app.resolve(event, context), config)
