"""Webhooks end to end, as ``make run`` serves them: a job submitted over HTTP with a
``webhook``, its worker and the webhook sender in Lambda instances of their own fed by moto's
SQS, and the signed event arriving at a receiver on this machine."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from standardwebhooks.webhooks import Webhook

from devkit.stack_process import RunningStack, start, stop
from devkit.waiting import eventually
from devkit.webhook_receiver import WebhookReceiver
from tests.helpers.hostile import any_text, urlish
from tests.helpers.readme import readme_block
from tests.helpers.tiers import sizes


def root(stack: RunningStack) -> str:
    return stack.base_url.removesuffix("/v1")


def readme_verify() -> Callable[..., bool]:
    """The README's receiver-side ``verify``, as written there."""
    namespace: dict[str, Any] = {}
    exec(compile(readme_block("python", "def verify("), "README.md", "exec"), namespace)
    verify: Callable[..., bool] = namespace["verify"]
    return verify


def test_a_job_with_a_webhook_sends_a_signed_event_the_receiver_can_verify(
    stack: RunningStack,
) -> None:
    headers = {"x-api-key": stack.api_key}
    secret = requests.get(f"{root(stack)}/v2/webhooks/default/secret", headers=headers, timeout=30)
    assert secret.status_code == 200
    key = secret.json()["key"]
    with WebhookReceiver.running() as receiver:
        submitted = requests.post(
            f"{root(stack)}/v2/segmind-vega-rt-v1",
            headers=headers,
            json={"prompt": "a kite over the dunes", "seed": 5, "webhook": receiver.url},
            timeout=30,
        )
        assert submitted.status_code == 200, submitted.text
        job = submitted.json()
        (event,) = receiver.wait_for(1, timeout=120)

    payload = Webhook(key).verify(event.body, event.headers)  # an independent verifier
    assert payload["request_id"] == job["request_id"]
    assert payload["status"] == "COMPLETED"
    image = requests.get(payload["output"], timeout=30)
    assert image.content[:2] == b"\xff\xd8"

    verify = readme_verify()
    assert verify(key, event.headers, event.body)
    tampered = event.body.replace(b"COMPLETED", b"FAILED")
    assert not verify(key, event.headers, tampered)
    old = {**event.headers, "webhook-timestamp": str(int(event.headers["webhook-timestamp"]) - 900)}
    assert not verify(key, old, event.body)

    def delivered() -> dict[str, Any] | None:
        answer = requests.get(job["response_url"], headers=headers, timeout=30).json()
        return answer if answer.get("webhook_status") == "delivered" else None

    shown = eventually(delivered, "the delivery recorded on the job")
    assert [attempt["status"] for attempt in shown["webhook_attempts"]] == [204]


def test_a_webhook_to_a_private_address_is_refused_at_submit(stack: RunningStack) -> None:
    answer = requests.post(
        f"{root(stack)}/v2/segmind-vega-rt-v1",
        headers={"x-api-key": stack.api_key},
        json={"prompt": "a kite", "webhook": "https://169.254.169.254/latest/meta-data/"},
        timeout=30,
    )
    assert answer.status_code == 400
    assert json.loads(answer.text) == {"error": "webhook must reach a public address"}


@pytest.fixture(scope="module")
def deployed_policy_stack() -> Iterator[RunningStack]:
    """A stack that applies a deployment's webhook policy (``VEGART_WEBHOOK_POLICY=deployed``)."""
    running = start(env={"VEGART_WEBHOOK_POLICY": "deployed"})
    try:
        yield running
    finally:
        stop(running)


@pytest.mark.parametrize(
    ("webhook", "error"),
    [
        ("http://127.0.0.1:9/hook", "webhook must be an absolute https URL"),
        ("https://127.0.0.1:9/hook", "webhook must reach a public address"),
        ("https://[::1]/hook", "webhook must reach a public address"),
        ("https://localhost/hook", "webhook must reach a public address"),
        ("https://10.1.2.3/hook", "webhook must reach a public address"),
        ("http://[::1", "webhook must be a valid URL"),
    ],
)
def test_the_deployed_policy_refuses_what_a_deployment_refuses(
    deployed_policy_stack: RunningStack, webhook: str, error: str
) -> None:
    stack = deployed_policy_stack
    answer = requests.post(
        f"{root(stack)}/v2/segmind-vega-rt-v1",
        headers={"x-api-key": stack.api_key},
        json={"prompt": "a kite", "webhook": webhook},
        timeout=30,
    )
    assert answer.status_code == 400
    assert answer.json() == {"error": error}


@pytest.mark.parametrize("examples", sizes(100, 400, "examples"))
def test_any_webhook_over_http_is_accepted_or_a_400_naming_webhook(
    stack: RunningStack, roomy_key: str, examples: int
) -> None:
    """The probe's class of fault, as a client meets it: no webhook text makes a 5xx."""
    submit = f"{root(stack)}/v2/segmind-vega-rt-v1"

    @settings(
        max_examples=examples, database=None, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(webhook=urlish | any_text)
    def check(webhook: str) -> None:
        answer = requests.post(
            submit,
            headers={"x-api-key": roomy_key},
            json={"prompt": "a kite", "seed": 1, "webhook": webhook},
            timeout=30,
        )
        assert answer.status_code in (200, 400), (answer.status_code, answer.text[:300])
        if answer.status_code == 400:
            assert answer.json()["error"].startswith("webhook ")

    check()
