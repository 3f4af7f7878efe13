"""Identical requests during a backend outage, through the local stack against the mock.

A burst of identical requests shares one render: when that render fails, every request of the
burst answers its failure together, at once, rather than queueing renders one after another.
And a key that cannot pay is refused at once, however many identical requests it sends.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import requests

from devkit.raw_http import GUARD_SECONDS
from devkit.stack_process import RunningStack, admin

BURST = 32
#: The backend attempts one render makes (vegart.render.backends.retry.RetryPolicy's default).
ATTEMPTS = 4


def burst(stack: RunningStack, key: str, body: dict[str, object], count: int) -> list[int]:
    def one(_: int) -> int:
        answer = requests.post(
            stack.render_url, json=body, headers={"x-api-key": key}, timeout=GUARD_SECONDS
        )
        assert answer.headers["content-type"] == "application/json"
        return answer.status_code

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_an_outage_burst_makes_a_few_backend_calls_and_is_answered_502(
    stack: RunningStack, roomy_key: str
) -> None:
    # Slow failures, so that the whole burst arrives while the first render still tries.
    stack.mock.enqueue({"status": 502, "delay_ms": 300, "times": 1000})
    statuses = burst(stack, roomy_key, {"prompt": "a lighthouse in an outage", "seed": 3}, BURST)
    # 502 for all: the backend's failure, each within its deadline (504 would mean it waited).
    assert statuses == [502] * BURST
    calls = len(stack.mock.requests())
    # One render's attempts; at most a couple more renders for requests that came late.
    assert ATTEMPTS <= calls <= 3 * ATTEMPTS, calls


def test_a_key_without_credits_is_refused_at_once_however_many_it_sends(
    stack: RunningStack,
) -> None:
    made = admin(
        stack,
        *("keys", "create", "--label", "broke", "--credits", "0"),
        *("--rate", "10000", "--burst", "5000", "--json"),
    )
    broke = json.loads(made)["api_key"]
    statuses = burst(stack, broke, {"prompt": "a lighthouse nobody pays for", "seed": 4}, 20)
    assert statuses == [406] * 20
    assert stack.mock.requests() == []
