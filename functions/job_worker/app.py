"""Job worker function: renders v2 jobs, fed by the job queue's event source mapping.

Thin on purpose: each message of the batch goes to ``vegart.jobs.worker``, with a deadline
that is the worker's own (the template's ``JobDeadlineSeconds``) and never outlives the
invocation; the messages that must come back are reported as batch item failures.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from vegart.config import Settings
from vegart.deadline import Deadline
from vegart.observability import logger, make_tracer, metrics
from vegart.queues import Message, answer_batch
from vegart.runtime import Wiring

config = Settings.from_env()
wiring = Wiring(config)
tracer = make_tracer(config)


def work(message: Message, context: LambdaContext) -> str:
    deadline = Deadline.within_invocation(config.job_deadline_seconds, context)
    return wiring.job_worker.handle(message, deadline)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return answer_batch(event, context, work)
