"""Whatever a client sends reaches a parser, and every parser's failure is a contract answer.

Hypothesis throws arbitrary text (any code point, lone surrogates included) and text shaped
to break each parser at every field and header that reaches one, through the real functions
in process: the v2 submit's ``webhook`` (``urlsplit``, ``ipaddress``, the resolver), the
fields of both APIs' bodies (JSON, numbers), a base64 body, the headers an answer is built
from (``Host``, ``X-Forwarded-Proto``, ``Origin``, ``Accept``, ``Content-Type``), a job's
id in the path, and the key the authorizer reads. Each answer must be a documented status
with the contract's ``{"error"}`` body: never a 5xx, which any key holder could otherwise make
on demand (and trip the 5xx alarm with).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

import pytest
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devkit.context import still_context
from devkit.events import api_event, header, key_check_event, response_body
from devkit.functions import load_function
from tests.helpers.functions import RESULT_RESOURCE, STATUS_RESOURCE, SUBMIT, Jobs
from tests.helpers.hostile import any_text, urlish
from vegart.api.authorizer import UnauthorizedError
from vegart.webhooks.targets import TargetPolicy

EXAMPLES = settings(
    max_examples=150,
    database=None,
    deadline=None,
    # One moto deployment serves every example: each only adds a job or a cached render.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
#: Statuses a client can be answered with for what it sent (docs/contract.md, "Errors").
CLIENT_ANSWERS = {200, 400, 401, 403, 404, 405, 406, 422}
PUBLIC = "93.184.216.34"

webhooks = st.one_of(
    urlish,
    any_text,
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.lists(st.text(max_size=3)),
)


def assert_contract_answer(answer: dict[str, Any], allowed: Sequence[int] = ()) -> None:
    status = answer["statusCode"]
    assert status in (set(allowed) or CLIENT_ANSWERS), (status, response_body(answer)[:300])
    if status >= 400:
        assert header(answer, "Content-Type") == "application/json"
        body = json.loads(response_body(answer))
        assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"]


@pytest.fixture
def jobs(aws: dict[str, Any], segmind: responses.RequestsMock) -> Jobs:
    """The v2 functions, with a DNS of the test's: every name is one public address."""
    harness = Jobs(aws)
    harness.fn.wiring.webhook_targets = TargetPolicy(lambda host, port: [PUBLIC])
    return harness


@given(webhook=webhooks)
@EXAMPLES
def test_any_webhook_is_accepted_or_a_400_naming_webhook(jobs: Jobs, webhook: Any) -> None:
    answer = jobs.submit({"prompt": "a fox", "seed": 1, "webhook": webhook})
    assert_contract_answer(answer, (200, 400))
    if answer["statusCode"] == 400:
        assert json.loads(response_body(answer))["error"].startswith("webhook ")


@given(field=st.sampled_from(["prompt", "seed", "num_inference_steps", "img_width", "base64"]),
       value=any_text)  # fmt: skip
@EXAMPLES
def test_any_text_in_any_field_is_a_contract_answer_in_v1_and_v2(
    fn: Any, jobs: Jobs, field: str, value: str
) -> None:
    body = {"prompt": "a fox", "seed": 2, field: value}
    assert_contract_answer(fn.lambda_handler(api_event(body), still_context()), (200, 400))
    assert_contract_answer(jobs.submit(body), (200, 400))


@given(raw=st.binary(max_size=200) | any_text.map(lambda text: text.encode("utf-8", "replace")))
@EXAMPLES
def test_any_body_in_base64_is_a_contract_answer(fn: Any, jobs: Jobs, raw: bytes) -> None:
    for event in (api_event(raw_body=raw), api_event(raw_body=raw, path=SUBMIT)):
        event["body"] = base64.b64encode(raw).decode()
        event["isBase64Encoded"] = True
        handler = fn if event["path"] != SUBMIT else jobs.fn
        assert_contract_answer(handler.lambda_handler(event, still_context()), (200, 400))


@given(body=any_text)
@EXAMPLES
def test_base64_that_is_not_base64_is_a_400(fn: Any, body: str) -> None:
    event = api_event(raw_body=b"{}")
    event["body"] = body
    event["isBase64Encoded"] = True
    assert_contract_answer(fn.lambda_handler(event, still_context()), (200, 400))


HEADERS = ["Host", "X-Forwarded-Proto", "Origin", "Accept", "Content-Type", "x-request-id"]


@given(name=st.sampled_from(HEADERS), value=any_text)
@EXAMPLES
def test_any_header_value_is_a_contract_answer_on_every_route(
    fn: Any, jobs: Jobs, name: str, value: str
) -> None:
    headers = {name: value}
    render = api_event({"prompt": "a fox", "seed": 3}, headers=headers)
    assert_contract_answer(fn.lambda_handler(render, still_context()), (200,))
    submitted = jobs.submit({"prompt": "a fox", "seed": 3}, headers=headers)
    assert_contract_answer(submitted, (200,))
    request_id = json.loads(response_body(submitted))["request_id"]
    assert_contract_answer(jobs.status(request_id, headers=headers), (200,))
    assert_contract_answer(jobs.result(request_id, headers=headers), (200,))


@given(request_id=any_text | urlish)
@EXAMPLES
def test_any_job_id_is_found_or_404(jobs: Jobs, request_id: str) -> None:
    for resource in (STATUS_RESOURCE, RESULT_RESOURCE):
        path = resource.replace("{request_id}", request_id)
        assert_contract_answer(jobs.read(path, resource), (200, 404))


@pytest.fixture
def authorizer(aws: dict[str, Any]) -> Any:
    return load_function("authorizer")


@given(key=any_text)
@EXAMPLES
def test_any_key_is_let_through_or_refused_as_api_gateway_expects(
    authorizer: Any, key: str
) -> None:
    # API Gateway answers 401 for the exception whose message is "Unauthorized", and 500 for
    # any other: only that one may escape.
    try:
        policy = authorizer.lambda_handler(key_check_event(key), still_context("authorizer"))
    except UnauthorizedError:
        return
    assert policy["policyDocument"]["Statement"]
