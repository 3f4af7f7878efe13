"""Webhooks end to end, as ``make run`` serves them: a job submitted over HTTP with a
``webhook``, its worker and the webhook sender in Lambda instances of their own fed by moto's
SQS, and the signed event arriving at a receiver on this machine."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests
from standardwebhooks.webhooks import Webhook

from devkit.stack_process import RunningStack
from devkit.waiting import eventually
from devkit.webhook_receiver import WebhookReceiver
from tests.helpers.readme import readme_block


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
