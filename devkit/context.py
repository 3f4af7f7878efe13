"""The Lambda context a function reads: its name, its request id and the time it has left."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


@dataclass
class LambdaContext:
    """What Powertools and the functions read of Lambda's context object.

    The time left counts down from ``timeout`` on ``clock``, as on Lambda; a clock that stands
    still (``clock=lambda: 0.0``) gives a context whose time never runs out, for tests.
    """

    function_name: str = "vegart-render"
    timeout: float = 28.0
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    started: float = field(default=-1.0, repr=False)

    def __post_init__(self) -> None:
        if self.started < 0:
            self.started = self.clock()

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout - (self.clock() - self.started)) * 1000))


def still_context(function_name: str = "vegart-render", seconds: float = 28.0) -> LambdaContext:
    """A context whose time left stays at ``seconds``: tests decide deadlines themselves."""
    return LambdaContext(function_name, seconds, clock=lambda: 0.0)
