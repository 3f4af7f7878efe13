"""Each function's role grants exactly what its code calls: no AccessDenied, nothing spare.

Rather than restate the template's policy statements, the functions run through every path
they have (a miss, a hit, a request waiting on another's render, a failed render and its
refund, a disabled key, the authorizer's lookup, a job submitted, read, worked, failed and
dead-lettered) in moto, with every AWS call recorded. Each call is turned into the IAM
actions and resources the template must grant for it (a transaction into each of its items'),
and the role, as CloudFormation makes it, is compared with that: a call it does not grant
fails on AWS; a grant no call needs is privilege to spare.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import boto3
import botocore.client
import pytest
import responses

from devkit.clock import no_wait
from devkit.context import still_context
from devkit.deployment import TEST_DEPLOYMENT
from devkit.events import CLIENT_KEY, CLIENT_KEY_ID, api_event, key_check_event
from devkit.functions import load_function
from devkit.sagemaker_endpoint import SageMakerEndpoint
from devkit.webhook_receiver import WebhookReceiver
from mock_server import render_jpeg
from tests.helpers.deployment import TEST_ENV
from tests.helpers.functions import Jobs
from tests.helpers.template import EXPECTED_PARAMETERS, as_deployed, role_grants
from vegart.contract import parse_render_request
from vegart.jobs import worker
from vegart.jobs.record import new_request_id
from vegart.render.spec import cache_key

URL = f"{TEST_ENV['SEGMIND_BASE_URL']}/segmind-vega-rt-v1"
#: The test deployment's names, and the template resource each stands for.
LOGICAL = {
    TEST_DEPLOYMENT.keys_table: "KeysTable",
    TEST_DEPLOYMENT.leases_table: "RenderLeasesTable",
    TEST_DEPLOYMENT.jobs_table: "JobsTable",
    TEST_DEPLOYMENT.bucket: "CacheBucket",
    TEST_DEPLOYMENT.secret_id: "SegmindApiKeySecret",
    TEST_DEPLOYMENT.job_queue: "JobQueue",
    TEST_DEPLOYMENT.job_dead_letter_queue: "JobDeadLetterQueue",
    TEST_DEPLOYMENT.webhook_queue: "WebhookQueue",
    TEST_DEPLOYMENT.webhook_dead_letter_queue: "WebhookDeadLetterQueue",
}
_LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}
#: Granted without a call of the code's: Lambda writes the function's logs and its event
#: source mapping reads the queue's attributes, and listing the bucket makes a missing object
#: a 404 rather than a 403 (an honest miss, not a fault).
NOT_CALLED_BY_THE_CODE = {
    "RenderFunctionRole": {*_LOGS, "s3:ListBucket"},
    "AuthorizerFunctionRole": _LOGS,
    "JobsFunctionRole": {*_LOGS, "s3:ListBucket"},
    "JobWorkerFunctionRole": {*_LOGS, "s3:ListBucket", "sqs:GetQueueAttributes"},
    "JobDeadLetterFunctionRole": {*_LOGS, "sqs:GetQueueAttributes"},
    # An event's output URL is presigned (no call): the receiver's GET of it is the grant's use.
    "WebhookSenderFunctionRole": {*_LOGS, "sqs:GetQueueAttributes", "s3:GetObject"},
}
#: IAM's action for an operation, where the names differ.
ACTIONS = {
    "HeadObject": "s3:GetObject",
    "DeleteMessageBatch": "sqs:DeleteMessage",
    "ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "SendMessageBatch": "sqs:SendMessage",
}
#: A transaction's item kinds, as the IAM actions they need.
TRANSACTION_ITEMS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def needed_grants(service: str, operation: str, params: dict[str, Any]) -> list[tuple[str, Any]]:
    """The (action, resource) pairs a template must grant for one call, in its terms."""
    action = ACTIONS.get(operation, f"{service}:{operation}")
    if service == "dynamodb" and operation == "TransactWriteItems":
        return [
            (f"dynamodb:{TRANSACTION_ITEMS[kind]}", table_arn(spec["TableName"]))
            for item in params["TransactItems"]
            for kind, spec in item.items()
        ]
    if service == "dynamodb":
        return [(action, table_arn(params["TableName"]))]
    if service == "s3":
        # Renders only: the cache key's version is the first part of every key.
        prefix = params["Key"].split("/", 1)[0]
        return [(action, {"Fn::Sub": "${" + LOGICAL[params["Bucket"]] + f".Arn}}/{prefix}/*"})]
    if service == "secretsmanager":
        return [(action, {"Ref": LOGICAL[params["SecretId"]]})]
    if service == "sqs":
        queue = params["QueueUrl"].rsplit("/", 1)[-1]
        return [(action, {"Fn::GetAtt": [LOGICAL[queue], "Arn"]})]
    if service == "sagemaker-runtime":
        # The endpoint, and the component the call names (IAM checks both).
        targets = ["RenderEndpoint"] + ["RenderComponent"] * ("InferenceComponentName" in params)
        return [(f"sagemaker:{operation}", {"Ref": target}) for target in targets]
    raise AssertionError(f"a call the test does not know how to grant: {service} {operation}")


def table_arn(name: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [LOGICAL[name], "Arn"]}


def record_from_now(monkeypatch: pytest.MonkeyPatch, test_side: list[Any]) -> set[tuple[str, str]]:
    """Every AWS call made from now on, as the IAM grants it needs (resources as JSON), but
    those of the clients in ``test_side``: the test's own setting up, not the function's."""
    recorded: set[tuple[str, str]] = set()
    lock = threading.Lock()
    original = botocore.client.BaseClient._make_api_call

    def recording(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if any(client is own for own in test_side):
            return original(client, operation, params)
        grants = needed_grants(client.meta.service_model.service_name, operation, params)
        with lock:
            recorded.update(
                (action, json.dumps(resource, sort_keys=True)) for action, resource in grants
            )
        return original(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    return recorded


def image(request: Any) -> tuple[int, dict[str, str], bytes]:
    body = json.loads(request.body)
    return 200, {}, render_jpeg(body["prompt"], body["seed"], body["num_inference_steps"])


Recording = Callable[[], set[tuple[str, str]]]
#: The test's own clients, whose calls are not the function's.
TEST_SIDE: list[Any] = []


def own_client(service: str) -> Any:
    client = boto3.client(service)  # type: ignore[call-overload]
    TEST_SIDE.append(client)
    return client


def while_another_holds_the_lease(
    service: Any, body: dict[str, Any], render: Callable[[], object]
) -> None:
    """Run ``render`` (a request or a job for ``body``) on a thread while another holds the
    render's lease; give the lease up once ``render`` has read it, and wait for ``render``."""
    key = cache_key(service.spec(parse_render_request(json.dumps(body).encode())))
    held = service.leases.acquire(key, 5).token
    assert held is not None
    watching = threading.Event()
    read = service.leases.read

    def watched_read(render_key: str) -> Any:
        watching.set()
        return read(render_key)

    service.leases.read = watched_read
    waiter = threading.Thread(target=render)
    waiter.start()
    assert watching.wait(60), "the render never watched the lease"
    service.leases.release(key, held)
    waiter.join()


def run_every_render_path(aws: dict[str, Any], record: Recording) -> set[tuple[str, str]]:
    """A miss, a hit, a request waiting on another's lease, a failed render, a disabled key."""
    fn = load_function("render", sleep=no_wait)
    context = still_context()
    recorded = record()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as segmind:
        segmind.add_callback(responses.POST, URL, callback=image)
        for _ in range(2):  # a miss, then a hit
            assert (
                fn.lambda_handler(api_event({"prompt": "a fox", "seed": 1}), context)["statusCode"]
                == 200
            )
        # Another request holds the lease, then gives it up: watched, then rendered here.
        watched = {"prompt": "a watched fox", "seed": 2}
        answers: list[dict[str, Any]] = []
        while_another_holds_the_lease(
            fn.wiring.render_service,
            watched,
            lambda: answers.append(fn.lambda_handler(api_event(watched), context)),
        )
        assert answers[0]["statusCode"] == 200
    with responses.RequestsMock() as segmind:
        segmind.add(responses.POST, URL, status=400, json={"error": "refused"})
        answer = fn.lambda_handler(api_event({"prompt": "a refused fox", "seed": 3}), context)
        assert answer["statusCode"] == 400  # debited, refunded, the failure on the lease
    aws["keys"].update(aws["client_key_id"], status="disabled")
    answer = fn.lambda_handler(api_event({"prompt": "a fox", "seed": 9}), context)
    assert answer["statusCode"] == 403  # the refused debit looked the key up
    return recorded


def grants_without_extras(role: str, translated: dict[str, Any], sam: dict[str, Any]) -> set:
    resolved = as_deployed(translated, sam, {**EXPECTED_PARAMETERS})
    return {
        (action, resource)
        for action, resource in role_grants(resolved, role)
        if action not in NOT_CALLED_BY_THE_CODE[role] and not action.startswith("xray:")
    }


def run_the_authorizer(aws: dict[str, Any], record: Recording) -> set[tuple[str, str]]:
    """The authorizer's one path: a key looked up, and allowed."""
    authorizer = load_function("authorizer")
    recorded = record()
    policy = authorizer.lambda_handler(key_check_event(CLIENT_KEY), still_context("authorizer"))
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    return recorded


def run_every_submit_and_read(aws: dict[str, Any], record: Recording) -> set[tuple[str, str]]:
    """A submit that queues, one refused, one of a cached image; every read; a stale job."""
    jobs = Jobs(aws)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as segmind:
        segmind.add_callback(responses.POST, URL, callback=image)
        done = jobs.submitted({"prompt": "a done fox", "seed": 1})
        jobs.work()
        recorded = record()
        queued = jobs.submitted({"prompt": "a fox", "seed": 1})
        assert jobs.submit({"prompt": "a done fox", "seed": 1})["statusCode"] == 200  # a hit
        hooked = {"prompt": "a done fox", "seed": 1, "webhook": "http://127.0.0.1:9/hook"}
        assert jobs.submit(hooked)["statusCode"] == 200  # a hit whose event is queued now
        secret = jobs.read("/v2/webhooks/default/secret", "/v2/webhooks/default/secret")
        assert secret["statusCode"] == 200  # the key's webhook secret, made on first use
        for request_id in (queued, done):
            assert jobs.status(request_id)["statusCode"] == 200
            assert jobs.result(request_id)["statusCode"] == 200
        own_client("dynamodb").update_item(
            TableName=aws["jobs_table"],
            Key={"request_id": {"S": queued}},
            UpdateExpression="SET give_up_at = :past",
            ExpressionAttributeValues={":past": {"N": "1"}},
        )
        assert jobs.status(queued)["statusCode"] == 422  # given up when read, refunded
        aws["keys"].update(CLIENT_KEY_ID, credits=0)
        assert jobs.submit({"prompt": "a poor fox"})["statusCode"] == 406
    return recorded


def run_every_worker_path(aws: dict[str, Any], record: Recording) -> set[tuple[str, str]]:
    """A render; one waiting on another's lease; a failure refunded; a hit refunded; a message
    whose job is not written yet; a duplicate."""
    jobs = Jobs(aws)
    service = jobs.worker.wiring.job_render_service

    def image_or_refusal(request: Any) -> tuple[int, dict[str, str], bytes]:
        if "refused" in json.loads(request.body)["prompt"]:
            return 400, {}, b'{"error": "refused"}'
        return image(request)

    with responses.RequestsMock(assert_all_requests_are_fired=False) as segmind:
        segmind.add_callback(responses.POST, URL, callback=image_or_refusal)
        rendered = jobs.submitted({"prompt": "a fox", "seed": 1, "webhook": HOOK})
        watched = {"prompt": "a watched fox", "seed": 2}
        watched_id = jobs.submitted(watched)
        failed = jobs.submitted({"prompt": "a refused fox", "seed": 3})
        hit = {"prompt": "a fox rendered twice", "seed": 4}
        hit_id = jobs.submitted(hit)
        load_function("render", sleep=no_wait).lambda_handler(api_event(hit), still_context())
        recorded = record()
        assert jobs.queue.poll_once() == 1
        while_another_holds_the_lease(service, watched, jobs.queue.poll_once)
        sqs = own_client("sqs")
        sqs.send_message(
            QueueUrl=aws["job_queue_url"], MessageBody=json.dumps({"request_id": rendered})
        )
        sqs.send_message(
            QueueUrl=aws["job_queue_url"],
            MessageBody=json.dumps({"request_id": new_request_id()}),
        )
        jobs.work()
    called = set(recorded)  # what follows is the jobs function's, checking the outcome
    for request_id, status in ((rendered, 200), (watched_id, 200), (failed, 422), (hit_id, 200)):
        assert jobs.status(request_id)["statusCode"] == status
    return called


def run_the_dead_letters(aws: dict[str, Any], record: Recording) -> set[tuple[str, str]]:
    """A dead-lettered job failed and refunded, its event queued; one that a dead worker's
    lease still holds, handed back to come again when the lease ends."""
    jobs = Jobs(aws)
    request_id = jobs.submitted({"prompt": "a poisoned fox", "webhook": HOOK})
    held_id = jobs.submitted({"prompt": "a fox whose worker died"})
    store = jobs.worker.wiring.job_store
    held = store.get(held_id)
    assert held is not None
    assert store.claim(held, 60) is not None
    recorded = record()
    for job in (request_id, held_id):
        own_client("sqs").send_message(
            QueueUrl=aws["job_dead_letter_queue_url"],
            MessageBody=json.dumps({"request_id": job}),
        )
        assert jobs.dead_letter_queue.poll_once() == 1
    return recorded


def run_the_webhook_sender(aws: dict[str, Any], record: Recording) -> set[tuple[str, str]]:
    """An event refused once (retried on schedule), then delivered; a duplicate dropped."""
    jobs = Jobs(aws)
    with (
        WebhookReceiver.running([500, 204]) as receiver,
        responses.RequestsMock(assert_all_requests_are_fired=False) as segmind,
    ):
        segmind.add_callback(responses.POST, URL, callback=image)
        request_id = jobs.submitted({"prompt": "a fox", "seed": 1, "webhook": receiver.url})
        jobs.work()
        recorded = record()
        assert jobs.webhooks.poll_once() == 1  # refused: its message comes back on schedule
        own_client("sqs").send_message(
            QueueUrl=aws["webhook_queue_url"], MessageBody=json.dumps({"request_id": request_id})
        )
        assert jobs.deliver() == 1  # delivered
        own_client("sqs").send_message(
            QueueUrl=aws["webhook_queue_url"], MessageBody=json.dumps({"request_id": request_id})
        )
        assert jobs.deliver() == 1  # already delivered: dropped
        assert len(receiver.wait_for(2)) == 2
    return recorded


#: Where the runs' events go: loopback, which the test deployment lets through here.
HOOK = "http://127.0.0.1:9/hook"
#: A deployment on a GPU endpoint that scales to zero.
GPU = {
    "Backend": "sagemaker",
    "SageMakerModelDataUrl": "s3://vegart-models-example/vega-rt/model.tar.gz",
    "SageMakerMinCopies": "0",
    "SageMakerMaxCopies": "2",
}


def run_the_worker_on_a_gpu_endpoint(aws: dict[str, Any], record: Recording) -> set:
    """A job that finds the endpoint at zero copies and waits, then renders once one is up."""
    with (
        pytest.MonkeyPatch.context() as patch,
        SageMakerEndpoint.running("vegart-render", "vegart-render", copies=0) as endpoint,
    ):
        for name, value in {
            "VEGART_BACKEND": "sagemaker",
            "SAGEMAKER_ENDPOINT_NAME": "vegart-render",
            "SAGEMAKER_INFERENCE_COMPONENT": "vegart-render",
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": endpoint.url,
        }.items():
            patch.setenv(name, value)
        patch.setattr(worker, "CAPACITY_POLL_SECONDS", 0)
        jobs = Jobs(aws)
        request_id = jobs.submitted({"prompt": "a fox on a GPU", "seed": 1})
        recorded = record()
        assert jobs.queue.poll_once() == 1  # no copy: a fresh reminder
        endpoint.scale_to(1)
        assert jobs.work() == 1
    called = set(recorded)
    assert jobs.status(request_id)["statusCode"] == 200
    return called


def test_what_the_gpu_backend_adds_to_the_workers_role_is_what_its_paths_call(
    aws: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    translated: dict[str, Any],
    sam_template: dict[str, Any],
) -> None:
    TEST_SIDE[:] = [aws["keys"]._client()]
    recorded = run_the_worker_on_a_gpu_endpoint(
        aws, lambda: record_from_now(monkeypatch, TEST_SIDE)
    )
    role = "JobWorkerFunctionRole"
    on_gpu = role_grants(
        as_deployed(translated, sam_template, {**EXPECTED_PARAMETERS, **GPU}), role
    )
    on_segmind = role_grants(as_deployed(translated, sam_template, {**EXPECTED_PARAMETERS}), role)
    assert recorded - on_gpu == set(), "called without a grant: AccessDenied on AWS"
    added = on_gpu - on_segmind
    assert {action for action, _ in added} == {"sagemaker:InvokeEndpoint", "sqs:SendMessage"}
    assert added - recorded == set(), "granted for the GPU backend, and never called"


@pytest.mark.parametrize(
    ("role", "run"),
    [
        ("RenderFunctionRole", run_every_render_path),
        ("AuthorizerFunctionRole", run_the_authorizer),
        ("JobsFunctionRole", run_every_submit_and_read),
        ("JobWorkerFunctionRole", run_every_worker_path),
        ("JobDeadLetterFunctionRole", run_the_dead_letters),
        ("WebhookSenderFunctionRole", run_the_webhook_sender),
    ],
    ids=["render", "authorizer", "jobs", "job-worker", "job-dead-letters", "webhook-sender"],
)
def test_each_role_grants_what_its_function_calls_and_nothing_more(
    aws: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    translated: dict[str, Any],
    sam_template: dict[str, Any],
    role: str,
    run: Any,
) -> None:
    monkeypatch.setenv("WEBHOOK_ALLOW_LOOPBACK", "true")  # before the functions are loaded
    TEST_SIDE[:] = [aws["keys"]._client()]
    recorded = run(aws, lambda: record_from_now(monkeypatch, TEST_SIDE))
    granted = grants_without_extras(role, translated, sam_template)
    assert recorded - granted == set(), "called without a grant: AccessDenied on AWS"
    assert granted - recorded == set(), "granted, and never called"
