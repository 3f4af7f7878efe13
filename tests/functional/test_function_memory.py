"""Loading a function again and again, as a test suite does, keeps the process's memory flat.

Each load is a cold start: a module of its own, its own settings and clients. Two things keep
thousands of them from piling up in one process: every client comes from the process's one
boto3 session (``vegart.aws``), so that a service's model is parsed once and not once a load,
and a test's functions are dropped when it ends (``devkit.functions.unload_functions``).
"""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

import responses

from devkit.context import LambdaContext
from devkit.events import api_event
from devkit.functions import load_function, unload_functions

LOADS = 50
#: What 50 cold starts and renders may leave behind, in all. A load that kept its own parsed
#: service models (DynamoDB's, S3's, Secrets Manager's: megabytes each) would pass it at once.
BOUND_BYTES = 4 * 2**20


def test_fifty_cold_starts_leave_memory_flat(
    aws: dict[str, Any], segmind: responses.RequestsMock, context: LambdaContext
) -> None:
    event = api_event({"prompt": "a fox in the snow", "seed": 7})

    def cold_start_and_render() -> None:
        fn = load_function("render")
        assert fn.lambda_handler(event, context)["statusCode"] == 200
        assert unload_functions() == 1

    cold_start_and_render()  # the first parses the models, and fills every cache they share
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for _ in range(LOADS):
            cold_start_and_render()
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"\n{LOADS} cold starts kept {(after - before) / 2**10:.0f} KiB")
    assert after - before < BOUND_BYTES
