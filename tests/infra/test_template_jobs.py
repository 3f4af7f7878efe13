"""The v2 resources of template.yaml, as CloudFormation makes them after the SAM transform:
the routes, the jobs table, the queues, the worker's event source mapping and its timeouts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers.template import (
    AUTHORIZER,
    POWERTOOLS_VARIABLES,
    V2_ROUTES,
    api_body,
    as_list,
    resources_of_type,
    role_grants,
    variables_the_settings_read,
)
from vegart.config import LAMBDA_TIMEOUT_SECONDS, MAX_OUTPUT_URL_SECONDS, Settings
from vegart.jobs.record import RECORD_RETENTION_SECONDS
from vegart.render.spec import KEY_VERSION
from vegart.webhooks.sender import ATTEMPT_TIMEOUT_SECONDS, RETRY_SCHEDULE_SECONDS

WORKER = "JobWorkerFunction"
SENDER = "WebhookSenderFunction"
#: What each v2 function is given, beyond Powertools' own and the globals' keys table: all
#: it reads, nothing else.
GIVEN = {
    "JobsFunction": {
        "VEGART_BACKEND",
        "CACHE_BUCKET",
        "JOBS_TABLE",
        "JOB_QUEUE_URL",
        "WEBHOOK_QUEUE_URL",
        "JOB_TIMEOUT_SECONDS",
        "OUTPUT_URL_SECONDS",
        "ALLOWED_ORIGINS",
    },
    "JobWorkerFunction": {
        "VEGART_BACKEND",
        "LOG_PROMPTS",
        "SEGMIND_BASE_URL",
        "SEGMIND_SECRET_ID",
        "SAGEMAKER_ENDPOINT_NAME",
        "SAGEMAKER_INFERENCE_COMPONENT",
        "SECRET_CACHE_SECONDS",
        "CACHE_BUCKET",
        "LEASES_TABLE",
        "JOBS_TABLE",
        "JOB_QUEUE_URL",
        "WEBHOOK_QUEUE_URL",
        "JOB_DEADLINE_SECONDS",
        "JOB_TIMEOUT_SECONDS",
    },
    "JobDeadLetterFunction": {"JOBS_TABLE", "JOB_DEAD_LETTER_QUEUE_URL", "WEBHOOK_QUEUE_URL"},
    "WebhookSenderFunction": {
        "VEGART_BACKEND",
        "CACHE_BUCKET",
        "JOBS_TABLE",
        "WEBHOOK_QUEUE_URL",
        "OUTPUT_URL_SECONDS",
    },
}
KINDS = {
    "CACHE_BUCKET": "AWS::S3::Bucket",
    "JOBS_TABLE": "AWS::DynamoDB::Table",
    "LEASES_TABLE": "AWS::DynamoDB::Table",
    "KEYS_TABLE": "AWS::DynamoDB::Table",
    "JOB_QUEUE_URL": "AWS::SQS::Queue",
    "JOB_DEAD_LETTER_QUEUE_URL": "AWS::SQS::Queue",
    "WEBHOOK_QUEUE_URL": "AWS::SQS::Queue",
    "SEGMIND_SECRET_ID": "AWS::SecretsManager::Secret",
}


def properties(translated: dict[str, Any], name: str) -> dict[str, Any]:
    resource: dict[str, Any] = translated["Resources"][name]
    return dict(resource["Properties"])


# -- routes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(V2_ROUTES))
def test_each_v2_route_is_the_jobs_functions_behind_the_same_keys(
    translated: dict[str, Any], path: str
) -> None:
    methods = api_body(translated)["paths"][path]
    verb = "post" if path == "/v2/segmind-vega-rt-v1" else "get"
    assert set(methods) == {verb, "options", "x-amazon-apigateway-any-method"}
    for name, method in methods.items():
        integration = method["x-amazon-apigateway-integration"]
        assert integration["type"] == "aws_proxy"
        assert "${JobsFunction.Arn}" in integration["uri"]["Fn::Sub"]
        security = sorted(method["security"], key=json.dumps)
        if name == "options":
            assert security == []  # the browser's preflight carries no key
        else:
            assert security == [{AUTHORIZER: []}, {"api_key": []}]


# -- settings --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(GIVEN))
def test_each_v2_function_is_given_what_it_reads_and_nothing_else(
    translated: dict[str, Any], name: str
) -> None:
    given = set(properties(translated, name)["Environment"]["Variables"]) - POWERTOOLS_VARIABLES
    assert given == GIVEN[name] | {"KEYS_TABLE", "VEGART_AWS_ENDPOINT_URL"}
    assert given <= variables_the_settings_read()
    variables = properties(translated, name)["Environment"]["Variables"]
    for variable, kind in KINDS.items():
        if variable in variables:
            reference = variables[variable]["Ref"]
            assert translated["Resources"][reference]["Type"] == kind, variable


def test_the_workers_deadline_is_its_own_timeout_and_the_queues_visibility(
    sam_template: dict[str, Any], translated: dict[str, Any]
) -> None:
    worker = properties(translated, WORKER)
    deadline = {"Ref": "JobDeadlineSeconds"}
    assert worker["Timeout"] == deadline
    assert worker["Environment"]["Variables"]["JOB_DEADLINE_SECONDS"] == deadline
    # A message comes back only once the invocation that received it is over.
    assert properties(translated, "JobQueue")["VisibilityTimeout"] == deadline
    parameters = sam_template["Parameters"]
    # Longer than any v1 request's, within Lambda's limit, and always ended before the job's
    # own time is up.
    assert (
        parameters["JobDeadlineSeconds"]["MinValue"]
        > parameters["RequestDeadlineSeconds"]["MaxValue"]
    )
    assert parameters["JobDeadlineSeconds"]["MaxValue"] <= LAMBDA_TIMEOUT_SECONDS
    assert (
        parameters["JobDeadlineSeconds"]["MaxValue"] < parameters["JobTimeoutSeconds"]["MinValue"]
    )
    assert parameters["OutputUrlSeconds"]["MaxValue"] == MAX_OUTPUT_URL_SECONDS


def test_every_value_the_template_allows_the_settings_accept(sam_template: dict[str, Any]) -> None:
    parameters = sam_template["Parameters"]
    for deadline in ("MinValue", "MaxValue"):
        for timeout in ("MinValue", "MaxValue"):
            for url in ("MinValue", "MaxValue"):
                Settings.from_env(
                    {
                        "JOB_DEADLINE_SECONDS": str(parameters["JobDeadlineSeconds"][deadline]),
                        "JOB_TIMEOUT_SECONDS": str(parameters["JobTimeoutSeconds"][timeout]),
                        "OUTPUT_URL_SECONDS": str(parameters["OutputUrlSeconds"][url]),
                    }
                )


# -- the event source mappings ---------------------------------------------------------------


def mappings(translated: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        resource["Properties"]["FunctionName"]["Ref"]: resource["Properties"]
        for resource in resources_of_type(translated, "AWS::Lambda::EventSourceMapping").values()
    }


def test_the_worker_reads_the_job_queue_one_message_at_a_time_and_reports_failures(
    translated: dict[str, Any],
) -> None:
    mapping = mappings(translated)[WORKER]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["JobQueue", "Arn"]}
    assert mapping["BatchSize"] == 1
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "WorkerConcurrency"}}


def test_the_dead_letter_handler_reads_the_dead_letter_queue(translated: dict[str, Any]) -> None:
    mapping = mappings(translated)["JobDeadLetterFunction"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["JobDeadLetterQueue", "Arn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert set(mappings(translated)) == {WORKER, "JobDeadLetterFunction", SENDER}


# -- queues and the jobs table ---------------------------------------------------------------


def test_a_message_that_keeps_failing_goes_to_the_dead_letter_queue(
    sam_template: dict[str, Any], translated: dict[str, Any]
) -> None:
    queue = properties(translated, "JobQueue")
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["JobDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5,
    }
    # A message outlives any job: the worker always sees it, and fails a job past its time.
    assert (
        queue["MessageRetentionPeriod"]
        > sam_template["Parameters"]["JobTimeoutSeconds"]["MaxValue"]
    )
    assert properties(translated, "JobDeadLetterQueue")["MessageRetentionPeriod"] == 1209600


@pytest.mark.parametrize(
    "queue", ["JobQueue", "JobDeadLetterQueue", "WebhookQueue", "WebhookDeadLetterQueue"]
)
def test_the_queues_are_encrypted_and_refuse_plain_http(
    translated: dict[str, Any], queue: str
) -> None:
    assert properties(translated, queue)["SqsManagedSseEnabled"] is True
    (policy,) = resources_of_type(translated, "AWS::SQS::QueuePolicy").values()
    assert {"Ref": queue} in policy["Properties"]["Queues"]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert {"Fn::GetAtt": [queue, "Arn"]} in statement["Resource"]


def test_the_jobs_table_sweeps_its_records_by_the_field_the_code_writes(
    translated: dict[str, Any],
) -> None:
    table = properties(translated, "JobsTable")
    assert table["KeySchema"] == [{"AttributeName": "request_id", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert RECORD_RETENTION_SECONDS >= 3600


# -- least privilege -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "queues"),
    [
        ("JobsFunctionRole", {"JobQueue", "WebhookQueue"}),
        ("JobWorkerFunctionRole", {"JobQueue", "WebhookQueue"}),
        ("JobDeadLetterFunctionRole", {"JobDeadLetterQueue", "WebhookQueue"}),
        ("WebhookSenderFunctionRole", {"WebhookQueue"}),
        ("RenderFunctionRole", set()),
        ("AuthorizerFunctionRole", set()),
    ],
)
def test_each_role_reaches_only_its_own_queue(
    translated: dict[str, Any], role: str, queues: set[str]
) -> None:
    reached = {
        json.loads(resource)["Fn::GetAtt"][0]
        for action, resource in role_grants(translated, role)
        if action.startswith("sqs:")
    }
    assert reached == queues


@pytest.mark.parametrize(
    "role", ["RenderFunctionRole", "JobsFunctionRole", "JobWorkerFunctionRole"]
)
def test_renderers_reach_only_the_renders_in_the_bucket(
    translated: dict[str, Any], role: str
) -> None:
    objects = {
        json.dumps(json.loads(resource), sort_keys=True)
        for action, resource in role_grants(translated, role)
        if action in ("s3:GetObject", "s3:PutObject")
    }
    assert objects == {json.dumps({"Fn::Sub": "${CacheBucket.Arn}/" + KEY_VERSION + "/*"})}


def test_only_the_worker_renders(translated: dict[str, Any]) -> None:
    # The jobs function decides cache keys but never calls a backend or reads its secret.
    jobs = {action for action, _ in role_grants(translated, "JobsFunctionRole")}
    assert not {a for a in jobs if a.startswith(("secretsmanager:", "sagemaker:"))}
    assert "s3:PutObject" not in jobs
    # The worker sends only completion events: never a job message of its own.
    sends = {
        json.loads(resource)["Fn::GetAtt"][0]
        for action, resource in role_grants(translated, "JobWorkerFunctionRole")
        if action == "sqs:SendMessage"
    }
    assert sends == {"WebhookQueue"}
    sender = {action for action, _ in role_grants(translated, "WebhookSenderFunctionRole")}
    assert not {a for a in sender if a.startswith(("secretsmanager:", "sagemaker:"))}
    assert "s3:PutObject" not in sender


# -- outputs ---------------------------------------------------------------------------------


def test_the_outputs_name_the_v2_resources(translated: dict[str, Any]) -> None:
    outputs = translated["Outputs"]
    assert outputs["SubmitUrl"]["Value"]["Fn::Sub"].endswith("/${StageName}/v2/segmind-vega-rt-v1")
    for output, resource in {
        "JobsTableName": "JobsTable",
        "JobQueueUrl": "JobQueue",
        "JobDeadLetterQueueUrl": "JobDeadLetterQueue",
        "JobsFunctionName": "JobsFunction",
        "JobWorkerFunctionName": WORKER,
        "JobDeadLetterFunctionName": "JobDeadLetterFunction",
        "JobsLogGroupName": "JobsLogGroup",
        "JobWorkerLogGroupName": "JobWorkerLogGroup",
        "JobDeadLetterLogGroupName": "JobDeadLetterLogGroup",
        "WebhookSenderFunctionName": SENDER,
        "WebhookSenderLogGroupName": "WebhookSenderLogGroup",
        "WebhookQueueUrl": "WebhookQueue",
        "WebhookDeadLetterQueueUrl": "WebhookDeadLetterQueue",
    }.items():
        assert as_list(outputs[output]["Value"]) == [{"Ref": resource}], output


# -- webhooks --------------------------------------------------------------------------------


def test_the_sender_reads_the_webhook_queue_one_event_at_a_time(
    translated: dict[str, Any],
) -> None:
    mapping = mappings(translated)[SENDER]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["WebhookQueue", "Arn"]}
    assert mapping["BatchSize"] == 1
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "WebhookConcurrency"}}


def test_the_webhook_queue_outlasts_the_retry_schedule(translated: dict[str, Any]) -> None:
    queue = properties(translated, "WebhookQueue")
    sender = properties(translated, SENDER)
    # An event source mapping needs a visibility timeout of at least the function's timeout;
    # the sender's own attempt must fit in that timeout.
    assert queue["VisibilityTimeout"] >= sender["Timeout"] > ATTEMPT_TIMEOUT_SECONDS
    # Every attempt is a receive: room for all of them, and for a sender that crashed.
    attempts = len(RETRY_SCHEDULE_SECONDS) + 1
    assert queue["RedrivePolicy"]["maxReceiveCount"] > attempts
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["WebhookDeadLetterQueue", "Arn"]
    }
    assert queue["MessageRetentionPeriod"] > sum(RETRY_SCHEDULE_SECONDS)


def test_no_deployed_function_may_send_webhooks_to_loopback(translated: dict[str, Any]) -> None:
    for name in resources_of_type(translated, "AWS::Lambda::Function"):
        variables = properties(translated, name).get("Environment", {}).get("Variables", {})
        assert "WEBHOOK_ALLOW_LOOPBACK" not in variables, name
