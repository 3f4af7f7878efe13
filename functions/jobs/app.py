"""Jobs function: Segmind's v2 API (``POST /v2/segmind-vega-rt-v1`` and the two reads),
and the key's webhook signing secret.

Thin on purpose, like the render function: the settings are read once, the collaborators are
built on first use, and the answers are shaped by ``vegart.api.v2``. The submit validates,
holds the credit and queues; the reads are one ``GetItem`` each (and a URL signature).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from vegart.api import rest, routes, v2
from vegart.config import Settings
from vegart.observability import logger, make_tracer, metrics
from vegart.runtime import Wiring

config = Settings.from_env()
wiring = Wiring(config)
tracer = make_tracer(config)
app = rest.rest_resolver(
    config,
    {
        routes.SUBMIT_ROUTE: "POST, OPTIONS",
        routes.STATUS_RESOURCE: "GET, OPTIONS",
        routes.RESULT_RESOURCE: "GET, OPTIONS",
        routes.WEBHOOK_SECRET_ROUTE: "GET, OPTIONS",
    },
)


@app.post(routes.SUBMIT_ROUTE)
@tracer.capture_method
def submit() -> Response[Any]:
    return v2.answer_submit(app.current_event, wiring.submissions)


@app.get(routes.STATUS_ROUTE)
def status(request_id: str) -> Response[Any]:
    return v2.answer_status(app.current_event, request_id, wiring.submissions)


@app.get(routes.RESULT_ROUTE)
def result(request_id: str) -> Response[Any]:
    return v2.answer_result(
        app.current_event, request_id, wiring.submissions, wiring.outputs, config.output_url_seconds
    )


@app.get(routes.WEBHOOK_SECRET_ROUTE)
def webhook_secret() -> Response[Any]:
    return v2.answer_webhook_secret(app.current_event, wiring.webhook_secrets)


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return rest.with_allowed_origin(app.resolve(event, context), config)
