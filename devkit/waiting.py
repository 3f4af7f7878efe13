"""Waiting for a condition that another thread or process brings about, instead of sleeping.

A test that sleeps a fixed time passes on a quiet machine and fails on a busy one; a test that
waits for the condition itself passes on both, and fails only when the condition never comes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: Long enough for anything that happens at all on a machine whose cores are all busy.
PATIENCE_SECONDS = 60.0
_POLL_SECONDS = 0.02


def eventually(
    condition: Callable[[], T | None], what: str, *, timeout: float = PATIENCE_SECONDS
) -> T:
    """The first truthy value of ``condition()``, polled until it comes; a failure naming
    ``what`` if it has not come within ``timeout`` seconds."""
    give_up = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > give_up:
            raise AssertionError(f"{what}: not seen within {timeout:.0f} s")
        time.sleep(_POLL_SECONDS)
