"""Dead-letter function: ends ``FAILED`` the jobs whose messages no worker could finish.

A message lands in the dead-letter queue after the template's ``maxReceiveCount`` deliveries
all failed (a crashing worker, a poison message); its job is failed with a message for a
person and its credit given back, so that no job waits for ever.
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


def give_up(message: Message, _: LambdaContext) -> str:
    return wiring.dead_letters.handle(message)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return answer_batch(event, context, give_up)
