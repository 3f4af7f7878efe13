"""Webhook sender function: attempts v2 jobs' completion events, fed by the webhook queue.

Thin on purpose: each message goes to ``vegart.webhooks.sender``; an attempt that failed and
is due again is reported as a batch item failure, its message made visible on the retry
schedule.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from vegart.config import Settings
from vegart.observability import logger, make_tracer, metrics
from vegart.queues import Message, answer_batch
from vegart.runtime import Wiring

config = Settings.from_env()
wiring = Wiring(config)
tracer = make_tracer(config)


def send(message: Message, _: LambdaContext) -> str:
    return wiring.webhook_sender.handle(message)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return answer_batch(event, context, send)
