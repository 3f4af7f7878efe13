"""Render function: ``POST /v1/segmind-vega-rt-v1`` behind API Gateway.

Thin on purpose: it reads the deployment's settings once, builds the render service from them
(lazily, on the first request), routes the event and turns exceptions into answers; every
decision about the request lives in the shared ``vegart`` package (the layer).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from vegart.api import rest, v1
from vegart.api.routes import ROUTE
from vegart.config import Settings
from vegart.observability import logger, make_tracer, metrics
from vegart.runtime import Wiring

config = Settings.from_env()
wiring = Wiring(config)
tracer = make_tracer(config)
app = rest.rest_resolver(config, {ROUTE: "POST, OPTIONS"})


@app.post(ROUTE)
@tracer.capture_method
def post_render() -> Response[Any]:
    return v1.answer_render(
        app.current_event, app.lambda_context, config=config, service=wiring.render_service
    )


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return rest.with_allowed_origin(app.resolve(event, context), config)
