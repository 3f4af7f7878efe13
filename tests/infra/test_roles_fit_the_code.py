"""Each function's role grants exactly what its code calls: no AccessDenied, nothing spare.

Rather than restate the template's policy statements, the functions run through every path
they have (a miss, a hit, a request waiting on another's render, a failed render and its
refund, a disabled key, the authorizer's lookup) in moto, with every AWS call recorded. Each
call is turned into the IAM action and resource the template must grant for it, and the
role, as CloudFormation makes it, is compared with that: a call it does not grant fails on
AWS; a grant no call needs is privilege to spare.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import botocore.client
import pytest
import responses

from devkit.context import still_context
from devkit.deployment import TEST_DEPLOYMENT
from devkit.events import CLIENT_KEY, api_event, key_check_event
from devkit.functions import load_function
from mock_server import render_jpeg
from tests.conftest import TEST_ENV
from vegart.cache_key import cache_key
from vegart.contract import parse_render_request

from .conftest import as_deployed
from .test_template_translated import EXPECTED_PARAMETERS, role_grants

URL = f"{TEST_ENV['SEGMIND_BASE_URL']}/segmind-vega-rt-v1"
#: The test deployment's names, and the template resource each stands for.
LOGICAL = {
    TEST_DEPLOYMENT.keys_table: "KeysTable",
    TEST_DEPLOYMENT.leases_table: "RenderLeasesTable",
    TEST_DEPLOYMENT.bucket: "CacheBucket",
    TEST_DEPLOYMENT.secret_id: "SegmindApiKeySecret",
}
#: Granted without a call of the code's: Lambda writes the function's logs, and listing the
#: bucket makes a missing object a 404 rather than a 403 (an honest miss, not a fault).
NOT_CALLED_BY_THE_CODE = {
    "RenderFunctionRole": {"logs:CreateLogStream", "logs:PutLogEvents", "s3:ListBucket"},
    "AuthorizerFunctionRole": {"logs:CreateLogStream", "logs:PutLogEvents"},
}
#: IAM's action for an S3 operation, where the names differ.
S3_ACTIONS = {"HeadObject": "s3:GetObject"}


def needed_grant(service: str, operation: str, params: dict[str, Any]) -> tuple[str, Any]:
    """The (action, resource) a template must grant for one call, in the template's terms."""
    if service == "dynamodb":
        return f"dynamodb:{operation}", {"Fn::GetAtt": [LOGICAL[params["TableName"]], "Arn"]}
    if service == "s3":
        action = S3_ACTIONS.get(operation, f"s3:{operation}")
        return action, {"Fn::Sub": "${" + LOGICAL[params["Bucket"]] + ".Arn}/*"}
    if service == "secretsmanager":
        return f"secretsmanager:{operation}", {"Ref": LOGICAL[params["SecretId"]]}
    raise AssertionError(f"a call the test does not know how to grant: {service} {operation}")


def record_from_now(monkeypatch: pytest.MonkeyPatch) -> set[tuple[str, str]]:
    """Every AWS call made from now on, as the IAM grant it needs (resource as JSON)."""
    recorded: set[tuple[str, str]] = set()
    lock = threading.Lock()
    original = botocore.client.BaseClient._make_api_call

    def recording(client: Any, operation: str, params: dict[str, Any]) -> Any:
        action, resource = needed_grant(client.meta.service_model.service_name, operation, params)
        with lock:
            recorded.add((action, json.dumps(resource, sort_keys=True)))
        return original(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    return recorded


def image(request: Any) -> tuple[int, dict[str, str], bytes]:
    body = json.loads(request.body)
    return 200, {}, render_jpeg(body["prompt"], body["seed"], body["num_inference_steps"])


def run_every_render_path(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """A miss, a hit, a request waiting on another's lease, a failed render, a disabled key."""
    fn = load_function("render")
    context = still_context()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as segmind:
        segmind.add_callback(responses.POST, URL, callback=image)
        for _ in range(2):  # a miss, then a hit
            assert (
                fn.lambda_handler(api_event({"prompt": "a fox", "seed": 1}), context)["statusCode"]
                == 200
            )
        # Another request holds the lease, then gives it up: watched, then rendered here.
        service = fn.wiring.render_service
        watched = {"prompt": "a watched fox", "seed": 2}
        key = cache_key(service.spec(parse_render_request(json.dumps(watched).encode())))
        held = service.leases.acquire(key, 5).token
        assert held is not None
        watching = threading.Event()
        read = service.leases.read

        def watched_read(render_key: str) -> Any:
            watching.set()
            return read(render_key)

        monkeypatch.setattr(service.leases, "read", watched_read)
        answers: list[dict[str, Any]] = []
        waiter = threading.Thread(
            target=lambda: answers.append(fn.lambda_handler(api_event(watched), context))
        )
        waiter.start()
        assert watching.wait(60), "the request never watched the lease"
        service.leases.release(key, held)
        waiter.join()
        assert answers[0]["statusCode"] == 200
    with responses.RequestsMock() as segmind:
        segmind.add(responses.POST, URL, status=400, json={"error": "refused"})
        answer = fn.lambda_handler(api_event({"prompt": "a refused fox", "seed": 3}), context)
        assert answer["statusCode"] == 400  # debited, refunded, the failure on the lease
    aws["keys"].update(aws["client_key_id"], status="disabled")
    answer = fn.lambda_handler(api_event({"prompt": "a fox", "seed": 9}), context)
    assert answer["statusCode"] == 403  # the refused debit looked the key up


def grants_without_extras(role: str, translated: dict[str, Any], sam: dict[str, Any]) -> set:
    resolved = as_deployed(translated, sam, {**EXPECTED_PARAMETERS})
    return {
        (action, resource)
        for action, resource in role_grants(resolved, role)
        if action not in NOT_CALLED_BY_THE_CODE[role] and not action.startswith("xray:")
    }


def run_the_authorizer(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The authorizer's one path: a key looked up, and allowed."""
    authorizer = load_function("authorizer")
    policy = authorizer.lambda_handler(key_check_event(CLIENT_KEY), still_context("authorizer"))
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"


@pytest.mark.parametrize(
    ("role", "run"),
    [("RenderFunctionRole", run_every_render_path), ("AuthorizerFunctionRole", run_the_authorizer)],
    ids=["render", "authorizer"],
)
def test_each_role_grants_what_its_function_calls_and_nothing_more(
    aws: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    translated: dict[str, Any],
    sam_template: dict[str, Any],
    role: str,
    run: Any,
) -> None:
    recorded = record_from_now(monkeypatch)
    run(aws, monkeypatch)
    granted = grants_without_extras(role, translated, sam_template)
    assert recorded - granted == set(), "called without a grant: AccessDenied on AWS"
    assert granted - recorded == set(), "granted, and never called"
