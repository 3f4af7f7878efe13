"""Authorizer function: API Gateway's REQUEST authorizer for ``x-api-key``.

Thin on purpose: the decision lives in ``vegart.api.authorizer``; this reads the settings once,
wires the decision to the keys table and to Powertools' logging and metrics.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from vegart.api.authorizer import authorize
from vegart.config import Settings
from vegart.observability import logger, make_tracer, metrics
from vegart.runtime import Wiring

config = Settings.from_env()
wiring = Wiring(config)
tracer = make_tracer(config)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
@event_source(data_class=APIGatewayAuthorizerRequestEvent)
def lambda_handler(
    event: APIGatewayAuthorizerRequestEvent, context: LambdaContext
) -> dict[str, Any]:
    return authorize(event, wiring.key_store)
