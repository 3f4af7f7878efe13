"""template.yaml as CloudFormation sees it after the SAM transform.

cfn-lint validates the SAM resources as written; it does not see what SAM generates (the API
definition with its gateway responses, methods, security and key authorizer, the authorizer's
invoke permission). These tests assert on that output.
"""

from __future__ import annotations

import json
import re
from typing import Any

import botocore.session
import pytest

from tests.helpers.contract_doc import table as contract_table
from tests.helpers.template import (
    AUTHORIZER,
    EXPECTED_PARAMETERS,
    POWERTOOLS_VARIABLES,
    REPO_ROOT,
    V2_ROUTES,
    allow_statements,
    api_body,
    as_deployed,
    as_list,
    deploying_text,
    evaluate_condition,
    only_resource,
    resolve_conditions,
    resources_of_type,
    role_grants,
    variables_the_settings_read,
)

ROUTE = "/v1/segmind-vega-rt-v1"
#: The only error statuses docs/contract.md lets reach a client.
CONTRACT_ERROR_STATUSES = {row[0] for row in contract_table("Errors")}
#: Every gateway response type, and the status each must answer with.
GATEWAY_RESPONSE_STATUS = {
    "ACCESS_DENIED": "403",
    "API_CONFIGURATION_ERROR": "500",
    "AUTHORIZER_CONFIGURATION_ERROR": "500",
    "AUTHORIZER_FAILURE": "500",
    "BAD_REQUEST_PARAMETERS": "400",
    "BAD_REQUEST_BODY": "400",
    "DEFAULT_4XX": "400",
    "DEFAULT_5XX": "500",
    "EXPIRED_TOKEN": "401",
    "INTEGRATION_FAILURE": "502",
    "INTEGRATION_TIMEOUT": "504",
    # With the key source AUTHORIZER: a key the authorizer let through whose API Gateway key is
    # disabled or gone (vegart-admin disabled or deleted it while the answer was cached).
    "INVALID_API_KEY": "403",
    "INVALID_SIGNATURE": "401",
    # An unknown path, or a method no route has.
    "MISSING_AUTHENTICATION_TOKEN": "404",
    "QUOTA_EXCEEDED": "429",
    "REQUEST_TOO_LARGE": "400",
    "RESOURCE_NOT_FOUND": "404",
    "THROTTLED": "429",
    "UNAUTHORIZED": "401",
    "UNSUPPORTED_MEDIA_TYPE": "400",
    "WAF_FILTERED": "403",
}
API_GATEWAY_INTEGRATION_TIMEOUT = 29
XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
KEYS_TABLE_ARN = {"Fn::GetAtt": ["KeysTable", "Arn"]}
LEASES_TABLE_ARN = {"Fn::GetAtt": ["RenderLeasesTable", "Arn"]}
ROLES = {
    "RenderFunctionRole",
    "AuthorizerFunctionRole",
    "JobsFunctionRole",
    "JobWorkerFunctionRole",
    "JobDeadLetterFunctionRole",
    "WebhookSenderFunctionRole",
}
JOBS_TABLE_ARN = {"Fn::GetAtt": ["JobsTable", "Arn"]}
#: Settings only the v2 functions read (tests/infra/test_template_jobs.py checks them there).
JOB_SETTINGS = {
    "JOBS_TABLE",
    "JOB_QUEUE_URL",
    "JOB_DEAD_LETTER_QUEUE_URL",
    "WEBHOOK_QUEUE_URL",
    "JOB_DEADLINE_SECONDS",
    "JOB_TIMEOUT_SECONDS",
    "OUTPUT_URL_SECONDS",
}
#: Settings for a local stack only, which no deployed function is given (their defaults are
#: what a deployment must have): webhooks to loopback.
LOCAL_ONLY_SETTINGS = {"WEBHOOK_ALLOW_LOOPBACK"}
#: Only with Backend=sagemaker (tests/infra/test_template_sagemaker.py).
SAGEMAKER_ROLE = "RenderModelRole"
#: Only with EnableAccessLogs and SetApiGatewayLoggingRole.
LOGGING_ROLE = "ApiGatewayLoggingRole"


# -- helpers -----------------------------------------------------------------------------------


def route_methods(translated: dict[str, Any]) -> dict[str, dict]:
    return api_body(translated)["paths"][ROUTE]


def function(translated: dict[str, Any]) -> dict[str, Any]:
    return translated["Resources"]["RenderFunction"]["Properties"]


def every_function(translated: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        resource["Properties"]
        for resource in resources_of_type(translated, "AWS::Lambda::Function").values()
    ]


def authorizer_function(translated: dict[str, Any]) -> dict[str, Any]:
    return translated["Resources"]["AuthorizerFunction"]["Properties"]


def key_authorizer(translated: dict[str, Any]) -> dict[str, Any]:
    schemes = api_body(translated)["components"]["securitySchemes"]
    return schemes[AUTHORIZER]


def statement_for(
    translated: dict[str, Any], action: str, role: str = "RenderFunctionRole"
) -> dict[str, Any]:
    found = [
        s
        for name, s in allow_statements(translated)
        if name == role and action in as_list(s["Action"])
    ]
    assert len(found) == 1, f"expected one statement of {role} granting {action}, found {found}"
    return found[0]


def tracing_off(translated: dict[str, Any], sam_template: dict[str, Any]) -> dict[str, Any]:
    """The default stack (Backend=segmind, no tracing) as CloudFormation makes it."""
    return as_deployed(translated, sam_template, {**EXPECTED_PARAMETERS})


# -- gateway responses -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gateway_responses(translated: dict[str, Any]) -> dict[str, dict]:
    return api_body(translated)["x-amazon-apigateway-gateway-responses"]


def test_the_expected_table_names_every_type_api_gateway_has() -> None:
    # botocore's service model is the authoritative list; a type AWS adds shows up here.
    model = botocore.session.get_session().get_service_model("apigateway")
    assert set(model.shape_for("GatewayResponseType").enum) == set(GATEWAY_RESPONSE_STATUS)


def test_every_gateway_response_type_is_customised(gateway_responses: dict[str, dict]) -> None:
    assert set(gateway_responses) == set(GATEWAY_RESPONSE_STATUS)


@pytest.mark.parametrize(("response_type", "status"), sorted(GATEWAY_RESPONSE_STATUS.items()))
def test_gateway_response_status(
    gateway_responses: dict[str, dict], response_type: str, status: str
) -> None:
    assert gateway_responses[response_type]["statusCode"] == status
    assert status in CONTRACT_ERROR_STATUSES


@pytest.mark.parametrize("response_type", sorted(GATEWAY_RESPONSE_STATUS))
def test_gateway_response_body_is_an_error_object(
    gateway_responses: dict[str, dict], response_type: str
) -> None:
    templates = gateway_responses[response_type]["responseTemplates"]
    assert set(templates) == {"application/json"}
    body = json.loads(templates["application/json"])
    assert set(body) == {"error"}
    assert isinstance(body["error"], str)
    assert body["error"].strip()
    # Gateway responses substitute $context variables; none may leak API Gateway's wording.
    assert "$" not in templates["application/json"]


@pytest.mark.parametrize("response_type", sorted(GATEWAY_RESPONSE_STATUS))
def test_gateway_response_carries_cors_headers(
    gateway_responses: dict[str, dict], response_type: str
) -> None:
    parameters = gateway_responses[response_type]["responseParameters"]
    allow_origin = parameters["gatewayresponse.header.Access-Control-Allow-Origin"]
    # "*" when AllowedOrigins is "*", else the request's Origin (a list cannot be one header).
    assert allow_origin == {"Fn::If": ["AllowAnyOrigin", "'*'", "method.request.header.Origin"]}
    assert parameters["gatewayresponse.header.Vary"] == "'Origin'"
    exposed = parameters["gatewayresponse.header.Access-Control-Expose-Headers"]
    assert "Retry-After" in exposed.strip("'").split(",")


def test_allow_any_origin_condition(sam_template: dict[str, Any]) -> None:
    assert evaluate_condition(sam_template, "AllowAnyOrigin", {"AllowedOrigins": "*"})
    assert not evaluate_condition(
        sam_template, "AllowAnyOrigin", {"AllowedOrigins": "https://a.example,https://b.example"}
    )


@pytest.mark.parametrize("response_type", ["THROTTLED", "QUOTA_EXCEEDED"])
def test_rate_limit_responses_say_when_to_retry(
    gateway_responses: dict[str, dict], response_type: str
) -> None:
    retry_after = gateway_responses[response_type]["responseParameters"][
        "gatewayresponse.header.Retry-After"
    ]
    assert re.fullmatch(r"'[1-9][0-9]*'", retry_after), retry_after


def test_only_rate_limit_responses_carry_retry_after(gateway_responses: dict[str, dict]) -> None:
    with_retry_after = {
        name
        for name, response in gateway_responses.items()
        if "gatewayresponse.header.Retry-After" in response["responseParameters"]
    }
    assert with_retry_after == {"THROTTLED", "QUOTA_EXCEEDED"}


def error_message(gateway_responses: dict[str, dict], response_type: str) -> str:
    template = gateway_responses[response_type]["responseTemplates"]["application/json"]
    return json.loads(template)["error"]


def test_key_errors_speak_of_the_api_key(gateway_responses: dict[str, dict]) -> None:
    for response_type in ("INVALID_API_KEY", "UNAUTHORIZED", "ACCESS_DENIED"):
        assert "API key" in error_message(gateway_responses, response_type)
    assert error_message(gateway_responses, "MISSING_AUTHENTICATION_TOKEN") == "Not found"


@pytest.mark.parametrize(
    ("response_type", "status", "words"),
    [
        # No x-api-key (the authorizer is not called), or the authorizer's "Unauthorized".
        ("UNAUTHORIZED", "401", ("missing", "invalid")),
        # The authorizer's Deny: a disabled key, or a model the key may not use.
        ("ACCESS_DENIED", "403", ("disabled", "model")),
        # A cached Allow for a key whose API Gateway key vegart-admin has disabled or deleted.
        ("INVALID_API_KEY", "403", ("disabled",)),
        # The usage plan's rate or burst.
        ("THROTTLED", "429", ("Retry-After",)),
    ],
)
def test_what_a_client_is_told_about_its_key(
    gateway_responses: dict[str, dict], response_type: str, status: str, words: tuple[str, ...]
) -> None:
    assert gateway_responses[response_type]["statusCode"] == status
    message = error_message(gateway_responses, response_type)
    for word in words:
        assert word in message, (response_type, message)


@pytest.mark.parametrize("response_type", ["AUTHORIZER_FAILURE", "AUTHORIZER_CONFIGURATION_ERROR"])
def test_a_failing_authorizer_is_a_plain_500(
    gateway_responses: dict[str, dict], response_type: str
) -> None:
    # The keys table unreachable: nothing is let through, and nothing internal is told.
    assert gateway_responses[response_type]["statusCode"] == "500"
    assert error_message(gateway_responses, response_type) == "Internal server error"


# -- routes, binary media, keys and the usage plan -------------------------------------------


def test_route_has_post_preflight_and_any(translated: dict[str, Any]) -> None:
    assert set(api_body(translated)["paths"]) == {ROUTE} | V2_ROUTES
    assert set(route_methods(translated)) == {"post", "options", "x-amazon-apigateway-any-method"}


def test_every_method_is_a_proxy_to_the_render_function(translated: dict[str, Any]) -> None:
    # No MOCK integration: with */* binary, a mock preflight could not answer.
    for method in route_methods(translated).values():
        integration = method["x-amazon-apigateway-integration"]
        assert integration["type"] == "aws_proxy"
        assert integration["httpMethod"] == "POST"
        assert "${RenderFunction.Arn}" in integration["uri"]["Fn::Sub"]


@pytest.mark.parametrize("method", ["post", "x-amazon-apigateway-any-method"])
def test_key_authorizer_and_api_key_on_every_method_but_the_preflight(
    translated: dict[str, Any], method: str
) -> None:
    security = route_methods(translated)[method]["security"]
    # Both: the authorizer decides who may pass, the API key makes the usage plan throttle.
    assert sorted(security, key=json.dumps) == [{AUTHORIZER: []}, {"api_key": []}]


def test_the_preflight_needs_neither_authorizer_nor_key(translated: dict[str, Any]) -> None:
    assert route_methods(translated)["options"]["security"] == []
    scheme = api_body(translated)["components"]["securitySchemes"]["api_key"]
    assert scheme == {"type": "apiKey", "name": "x-api-key", "in": "header"}


def test_key_authorizer_is_a_request_authorizer_on_x_api_key(translated: dict[str, Any]) -> None:
    scheme = key_authorizer(translated)
    assert scheme["x-amazon-apigateway-authtype"] == "custom"
    authorizer = scheme["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "request"
    assert authorizer["identitySource"] == "method.request.header.x-api-key"
    # The translator resolves the parameter's default, as CloudFormation's transform resolves
    # the deployed value.
    assert (
        authorizer["authorizerResultTtlInSeconds"] == EXPECTED_PARAMETERS["AuthorizerCacheSeconds"]
    )
    # SAM makes the invoke permission; no role of ours is needed to call the function.
    assert "authorizerCredentials" not in authorizer


def test_key_authorizer_calls_the_authorizer_function(translated: dict[str, Any]) -> None:
    uri = key_authorizer(translated)["x-amazon-apigateway-authorizer"]["authorizerUri"]
    template, variables = uri["Fn::Sub"]
    assert template.startswith("arn:aws:apigateway:${AWS::Region}:lambda:path/")
    assert template.endswith("/functions/${__FunctionArn__}/invocations")
    assert variables == {"__FunctionArn__": {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}}


@pytest.mark.parametrize("seconds", [0, 60, 3600])
def test_key_authorizer_cache_follows_its_parameter(translate_with, seconds: int) -> None:
    output = translate_with(AuthorizerCacheSeconds=seconds)
    authorizer = key_authorizer(output)["x-amazon-apigateway-authorizer"]
    assert authorizer["authorizerResultTtlInSeconds"] == seconds
    # Also with the cache off, the header stays the identity source: a request without it is
    # refused with 401 before the function is called.
    assert authorizer["identitySource"] == "method.request.header.x-api-key"


def test_authorizer_cache_parameter_is_within_api_gateways_range(
    sam_template: dict[str, Any],
) -> None:
    parameter = sam_template["Parameters"]["AuthorizerCacheSeconds"]
    assert parameter["Type"] == "Number"
    assert parameter["MinValue"] == 0
    assert parameter["MaxValue"] == 3600


def test_api_gateway_may_invoke_the_authorizer(translated: dict[str, Any]) -> None:
    permissions = [
        permission["Properties"]
        for permission in resources_of_type(translated, "AWS::Lambda::Permission").values()
        if permission["Properties"]["FunctionName"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
    ]
    assert len(permissions) == 1
    (permission,) = permissions
    assert permission["Action"] == "lambda:InvokeFunction"
    assert permission["Principal"] == "apigateway.amazonaws.com"
    template, variables = permission["SourceArn"]["Fn::Sub"]
    assert template.endswith(":${__ApiId__}/authorizers/*")
    assert variables == {"__ApiId__": {"Ref": "RenderApi"}}


def test_api_takes_the_usage_key_from_the_authorizer(translated: dict[str, Any]) -> None:
    _, api = only_resource(translated, "AWS::ApiGateway::RestApi")
    assert api["Properties"]["ApiKeySourceType"] == "AUTHORIZER"


def test_every_media_type_is_binary(translated: dict[str, Any]) -> None:
    _, api = only_resource(translated, "AWS::ApiGateway::RestApi")
    # CloudFormation's property writes "/" as "~1"; the API definition has it plain.
    assert api["Properties"]["BinaryMediaTypes"] == ["*~1*"]
    assert api_body(translated)["x-amazon-apigateway-binary-media-types"] == ["*/*"]


def test_api_is_regional(translated: dict[str, Any]) -> None:
    _, api = only_resource(translated, "AWS::ApiGateway::RestApi")
    assert api["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    _, stage = only_resource(translated, "AWS::ApiGateway::Stage")
    assert stage["Properties"]["StageName"] == {"Ref": "StageName"}


def test_stage_serves_a_deployment_made_on_every_deploy(
    sam_template: dict[str, Any], translated: dict[str, Any]
) -> None:
    # Gateway responses read parameters; a parameter change must reach the stage.
    assert sam_template["Resources"]["RenderApi"]["Properties"]["AlwaysDeploy"] is True
    deployment_id, _ = only_resource(translated, "AWS::ApiGateway::Deployment")
    _, stage = only_resource(translated, "AWS::ApiGateway::Stage")
    assert stage["Properties"]["DeploymentId"] == {"Ref": deployment_id}


def test_default_usage_plan_throttles_with_the_parameters(translated: dict[str, Any]) -> None:
    name, plan = only_resource(translated, "AWS::ApiGateway::UsagePlan")
    assert name == "DefaultUsagePlan"
    assert plan["Properties"]["Throttle"] == {
        "RateLimit": {"Ref": "ThrottleRateLimit"},
        "BurstLimit": {"Ref": "ThrottleBurstLimit"},
    }
    # Credits are counted in the keys table; a usage-plan quota is only best effort.
    assert "Quota" not in plan["Properties"]


def test_default_usage_plan_is_on_the_stage_sam_makes(translated: dict[str, Any]) -> None:
    # A Ref to the stage resource (not its name as text): the plan waits for the stage.
    stage_name, _ = only_resource(translated, "AWS::ApiGateway::Stage")
    plan = translated["Resources"]["DefaultUsagePlan"]["Properties"]
    assert plan["ApiStages"] == [{"ApiId": {"Ref": "RenderApi"}, "Stage": {"Ref": stage_name}}]
    assert "DependsOn" not in translated["Resources"]["DefaultUsagePlan"]


def test_no_shared_api_key_is_generated(translated: dict[str, Any]) -> None:
    # Keys are made per client by vegart-admin; the stack holds none.
    assert not resources_of_type(translated, "AWS::ApiGateway::ApiKey")
    assert not resources_of_type(translated, "AWS::ApiGateway::UsagePlanKey")


# -- the render function ---------------------------------------------------------------------


def handler_exists(sam_template: dict[str, Any], logical_id: str) -> bool:
    """Whether the function's ``Handler`` names a function in a module of its ``CodeUri``."""
    source = sam_template["Resources"][logical_id]["Properties"]
    module, _, attribute = source["Handler"].rpartition(".")
    path = REPO_ROOT / source["CodeUri"] / f"{module}.py"
    return path.is_file() and re.search(rf"^def {attribute}\(", path.read_text(), re.M) is not None


@pytest.mark.parametrize(
    "logical_id",
    [
        "RenderFunction",
        "AuthorizerFunction",
        "JobsFunction",
        "JobWorkerFunction",
        "JobDeadLetterFunction",
    ],
)
def test_each_function_runs_where_its_layer_was_built(
    sam_template: dict[str, Any], translated: dict[str, Any], logical_id: str
) -> None:
    """The layer's packages are built for one runtime and architecture: the function's.

    Its Makefile fetches the wheels; test_sam_build.py checks that they are the runtime's.
    """
    properties = translated["Resources"][logical_id]["Properties"]
    layer = sam_template["Resources"]["SharedLayer"]
    assert layer["Properties"]["CompatibleRuntimes"] == [properties["Runtime"]]
    assert layer["Metadata"]["BuildArchitecture"] == properties["Architectures"][0]
    assert layer["Properties"]["CompatibleArchitectures"] == properties["Architectures"]
    assert properties["Role"] == {"Fn::GetAtt": [f"{logical_id}Role", "Arn"]}
    assert handler_exists(sam_template, logical_id)


def test_function_uses_the_shared_layer(translated: dict[str, Any]) -> None:
    layer_name, _ = only_resource(translated, "AWS::Lambda::LayerVersion")
    assert function(translated)["Layers"] == [{"Ref": layer_name}]


def test_function_timeout_sits_between_deadline_and_api_gateway(
    sam_template: dict[str, Any], translated: dict[str, Any]
) -> None:
    timeout = function(translated)["Timeout"]
    deadline = sam_template["Parameters"]["RequestDeadlineSeconds"]
    assert timeout < API_GATEWAY_INTEGRATION_TIMEOUT
    assert deadline["Default"] < timeout
    # Whatever the operator picks, the deadline stays below the timeout.
    assert deadline["MaxValue"] < timeout
    assert deadline["MinValue"] > 0


def test_the_render_function_is_given_every_setting_and_nothing_unread(
    translated: dict[str, Any],
) -> None:
    given = set(function(translated)["Environment"]["Variables"])
    read = variables_the_settings_read() - JOB_SETTINGS - LOCAL_ONLY_SETTINGS
    assert read - given == set(), "a setting the template leaves at its code default"
    assert given - read <= POWERTOOLS_VARIABLES, "a variable nothing reads"


def test_the_render_functions_names_point_at_resources_of_their_kind(
    translated: dict[str, Any],
) -> None:
    variables = function(translated)["Environment"]["Variables"]
    kinds = {
        "CACHE_BUCKET": "AWS::S3::Bucket",
        "KEYS_TABLE": "AWS::DynamoDB::Table",
        "LEASES_TABLE": "AWS::DynamoDB::Table",
        "SEGMIND_SECRET_ID": "AWS::SecretsManager::Secret",
    }
    for name, kind in kinds.items():
        reference = variables[name]["Ref"]
        assert translated["Resources"][reference]["Type"] == kind, name
    assert variables["KEYS_TABLE"] != variables["LEASES_TABLE"]


def test_function_logs_to_its_own_group(translated: dict[str, Any]) -> None:
    assert function(translated)["LoggingConfig"] == {"LogGroup": {"Ref": "RenderLogGroup"}}
    group = translated["Resources"]["RenderLogGroup"]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


@pytest.mark.parametrize(
    ("value", "reserved"), [("", False), ("-1", False), ("0", True), ("25", True)]
)
def test_reserved_concurrency_is_optional(
    sam_template: dict[str, Any], translated: dict[str, Any], value: str, reserved: bool
) -> None:
    assert function(translated)["ReservedConcurrentExecutions"] == {
        "Fn::If": [
            "HasReservedConcurrency",
            {"Ref": "RenderReservedConcurrency"},
            {"Ref": "AWS::NoValue"},
        ]
    }
    parameters = {"RenderReservedConcurrency": value}
    assert evaluate_condition(sam_template, "HasReservedConcurrency", parameters) is reserved


def test_function_events_are_the_route(translated: dict[str, Any]) -> None:
    permissions = [
        permission["Properties"]
        for permission in resources_of_type(translated, "AWS::Lambda::Permission").values()
        if permission["Properties"]["FunctionName"] == {"Ref": "RenderFunction"}
    ]
    assert len(permissions) == 3
    for permission in permissions:
        assert permission["Principal"] == "apigateway.amazonaws.com"


# -- the authorizer function -----------------------------------------------------------------


def test_the_authorizer_fails_fast_and_is_never_starved(translated: dict[str, Any]) -> None:
    properties = authorizer_function(translated)
    # Short: a hung keys table must fail the request fast (500), not hold the client.
    assert 5 <= properties["Timeout"] <= 10
    # No reservation: a busy render function must not take the authorizer's concurrency.
    assert "ReservedConcurrentExecutions" not in properties


def test_authorizer_code_and_layer(
    sam_template: dict[str, Any], translated: dict[str, Any]
) -> None:
    source = sam_template["Resources"]["AuthorizerFunction"]["Properties"]
    assert source["CodeUri"] == "functions/authorizer/"
    layer_name, _ = only_resource(translated, "AWS::Lambda::LayerVersion")
    assert authorizer_function(translated)["Layers"] == [{"Ref": layer_name}]


def test_the_authorizer_is_given_its_table_and_nothing_unread(translated: dict[str, Any]) -> None:
    variables = authorizer_function(translated)["Environment"]["Variables"]
    # The authorizer's wiring uses one setting: the keys table (Wiring.key_store).
    assert variables["KEYS_TABLE"] == function(translated)["Environment"]["Variables"]["KEYS_TABLE"]
    assert set(variables) - variables_the_settings_read() <= POWERTOOLS_VARIABLES


def test_authorizer_logs_to_its_own_group(translated: dict[str, Any]) -> None:
    assert authorizer_function(translated)["LoggingConfig"] == {
        "LogGroup": {"Ref": "AuthorizerLogGroup"}
    }
    group = translated["Resources"]["AuthorizerLogGroup"]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert group["Properties"]["LogGroupName"] == {
        "Fn::Sub": "/aws/lambda/${AWS::StackName}-authorizer"
    }
    assert (
        group["Properties"]["LogGroupName"]
        != translated["Resources"]["RenderLogGroup"]["Properties"]["LogGroupName"]
    )


def test_authorizer_has_no_events_of_its_own(sam_template: dict[str, Any]) -> None:
    # API Gateway reaches it only as the authorizer, never as a route.
    assert "Events" not in sam_template["Resources"]["AuthorizerFunction"]["Properties"]


# -- least privilege -------------------------------------------------------------------------


def test_no_managed_policies(translated: dict[str, Any]) -> None:
    for name, role in resources_of_type(translated, "AWS::IAM::Role").items():
        assert not role["Properties"].get("ManagedPolicyArns"), name
    assert not resources_of_type(translated, "AWS::IAM::ManagedPolicy")


def test_the_functions_have_the_only_roles(
    sam_template: dict[str, Any], translated: dict[str, Any]
) -> None:
    # The SageMaker model's role is in the template but made only with Backend=sagemaker;
    # API Gateway's logging role only with access logs, when asked for (test_template_access_logs).
    assert set(resources_of_type(translated, "AWS::IAM::Role")) == ROLES | {
        SAGEMAKER_ROLE,
        LOGGING_ROLE,
    }
    assert translated["Resources"][SAGEMAKER_ROLE]["Condition"] == "UseSageMaker"
    assert set(resources_of_type(tracing_off(translated, sam_template), "AWS::IAM::Role")) == ROLES
    assert not resources_of_type(translated, "AWS::IAM::Policy")


def test_no_wildcard_resource_without_tracing(
    sam_template: dict[str, Any], translated: dict[str, Any]
) -> None:
    resolved = tracing_off(translated, sam_template)
    statements = allow_statements(resolved)
    assert {name for name, _ in statements} == ROLES
    for name, statement in statements:
        actions = set(as_list(statement["Action"]))
        assert not any(action == "*" or action.endswith(":*") for action in actions), name
        assert "*" not in as_list(statement["Resource"]), (name, statement)
    for properties in every_function(resolved):
        assert properties["TracingConfig"] == {"Mode": "PassThrough"}
        assert properties["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "true"
    _, stage = only_resource(resolved, "AWS::ApiGateway::Stage")
    assert stage["Properties"]["TracingEnabled"] is False


def test_tracing_adds_only_the_xray_wildcard(
    sam_template: dict[str, Any], translated: dict[str, Any]
) -> None:
    parameters = {**EXPECTED_PARAMETERS, "EnableTracing": "true"}
    resolved = as_deployed(translated, sam_template, parameters)
    wildcards = [
        (name, s) for name, s in allow_statements(resolved) if "*" in as_list(s["Resource"])
    ]
    # One X-Ray statement in each function's role, and no other "*".
    assert sorted(name for name, _ in wildcards) == sorted(ROLES)
    for _, statement in wildcards:
        assert set(as_list(statement["Action"])) == XRAY_ACTIONS
    for properties in every_function(resolved):
        assert properties["TracingConfig"] == {"Mode": "Active"}
        assert properties["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "false"
    _, stage = only_resource(resolved, "AWS::ApiGateway::Stage")
    assert stage["Properties"]["TracingEnabled"] is True


def test_dynamodb_grants_name_the_deployments_tables_and_nothing_else(
    sam_template: dict[str, Any], translated: dict[str, Any]
) -> None:
    tables = set(resources_of_type(translated, "AWS::DynamoDB::Table"))
    assert tables == {"KeysTable", "RenderLeasesTable", "JobsTable"}
    for parameters in ({}, {"EnableTracing": "true"}):
        resolved = resolve_conditions(
            translated, sam_template, {**EXPECTED_PARAMETERS, **parameters}
        )
        for role in ROLES:
            for action, resource in role_grants(resolved, role):
                if action.startswith("dynamodb:"):
                    # A table itself: no index ("/index/*"), stream or other table.
                    arn = json.loads(resource)
                    assert arn in (KEYS_TABLE_ARN, LEASES_TABLE_ARN, JOBS_TABLE_ARN), (
                        role,
                        action,
                        resource,
                    )


def test_cache_bucket_listing_for_honest_misses(translated: dict[str, Any]) -> None:
    statement = statement_for(translated, "s3:ListBucket")
    assert as_list(statement["Action"]) == ["s3:ListBucket"]
    assert statement["Resource"] == {"Fn::GetAtt": ["CacheBucket", "Arn"]}


@pytest.mark.parametrize(
    ("role", "log_group"),
    [
        ("RenderFunctionRole", "RenderLogGroup"),
        ("AuthorizerFunctionRole", "AuthorizerLogGroup"),
        ("JobsFunctionRole", "JobsLogGroup"),
        ("JobWorkerFunctionRole", "JobWorkerLogGroup"),
        ("JobDeadLetterFunctionRole", "JobDeadLetterLogGroup"),
    ],
)
def test_logs_on_its_own_group_only(translated: dict[str, Any], role: str, log_group: str) -> None:
    statement = statement_for(translated, "logs:PutLogEvents", role)
    assert set(as_list(statement["Action"])) == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert statement["Resource"] == {"Fn::GetAtt": [log_group, "Arn"]}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_role_is_for_lambda(translated: dict[str, Any], role: str) -> None:
    properties = translated["Resources"][role]["Properties"]
    (statement,) = properties["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"


# -- cache bucket and secret -----------------------------------------------------------------


def test_cache_bucket_is_private_and_encrypted(translated: dict[str, Any]) -> None:
    bucket = translated["Resources"]["CacheBucket"]["Properties"]
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def test_cache_bucket_expires_renders(translated: dict[str, Any]) -> None:
    rules = translated["Resources"]["CacheBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    expiring = [rule for rule in rules if "ExpirationInDays" in rule]
    assert len(expiring) == 1
    assert expiring[0]["Status"] == "Enabled"
    assert expiring[0]["ExpirationInDays"] == {"Ref": "CacheExpiryDays"}
    assert "Prefix" not in expiring[0]
    assert "Filter" not in expiring[0]


def test_cache_bucket_refuses_plain_http(translated: dict[str, Any]) -> None:
    (policy,) = resources_of_type(translated, "AWS::S3::BucketPolicy").values()
    assert policy["Properties"]["Bucket"] == {"Ref": "CacheBucket"}
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    denials = [
        s
        for s in statements
        if s["Effect"] == "Deny"
        and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert len(denials) == 1
    (denial,) = denials
    assert denial["Principal"] == "*"
    assert as_list(denial["Action"]) == ["s3:*"]
    assert {"Fn::GetAtt": ["CacheBucket", "Arn"]} in denial["Resource"]
    assert {"Fn::Sub": "${CacheBucket.Arn}/*"} in denial["Resource"]


def test_segmind_key_secret_starts_as_a_placeholder(translated: dict[str, Any]) -> None:
    secret = translated["Resources"]["SegmindApiKeySecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert "GenerateSecretString" in secret["Properties"]
    assert "SecretString" not in secret["Properties"]


# -- keys table ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keys_table(translated: dict[str, Any]) -> dict[str, Any]:
    table = translated["Resources"]["KeysTable"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    return table


def test_keys_table_is_keyed_by_the_key_hash(keys_table: dict[str, Any]) -> None:
    properties = keys_table["Properties"]
    assert properties["KeySchema"] == [{"AttributeName": "key_id", "KeyType": "HASH"}]
    assert properties["AttributeDefinitions"] == [{"AttributeName": "key_id", "AttributeType": "S"}]
    # One GetItem per authorization: no index to keep in step or to grant.
    assert "GlobalSecondaryIndexes" not in properties
    assert "LocalSecondaryIndexes" not in properties


def test_keys_table_is_on_demand_and_encrypted(keys_table: dict[str, Any]) -> None:
    properties = keys_table["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in properties
    assert properties["SSESpecification"]["SSEEnabled"] is True


def test_keys_table_outlives_mistakes(keys_table: dict[str, Any]) -> None:
    # Balances are money: kept when the stack goes or the table would be replaced, protected
    # from a stray delete-table, and restorable to any second of the last 35 days.
    assert keys_table["DeletionPolicy"] == "Retain"
    assert keys_table["UpdateReplacePolicy"] == "Retain"
    properties = keys_table["Properties"]
    assert properties["DeletionProtectionEnabled"] is True
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    # A fixed name would block a new stack of the same name while the old table is kept.
    assert "TableName" not in properties


@pytest.mark.parametrize("function_name", ["RenderFunction", "AuthorizerFunction"])
def test_both_functions_find_the_keys_table(translated: dict[str, Any], function_name: str) -> None:
    variables = translated["Resources"][function_name]["Properties"]["Environment"]["Variables"]
    assert variables["KEYS_TABLE"] == {"Ref": "KeysTable"}


# -- parameters and outputs ------------------------------------------------------------------


def default_is_allowed(spec: dict[str, Any]) -> bool:
    """Whether a parameter's default passes its own constraints, as CloudFormation checks."""
    default = spec["Default"]
    if "AllowedValues" in spec and default not in spec["AllowedValues"]:
        return False
    if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], str(default)):
        return False
    if spec.get("Type") == "Number":
        value = float(default)
        return spec.get("MinValue", value) <= value <= spec.get("MaxValue", value)
    return True


def test_every_parameter_is_described_defaulted_and_used(sam_template: dict[str, Any]) -> None:
    """A stack deploys without choosing anything, and every choice offered does something."""
    text = json.dumps(sam_template["Resources"]) + json.dumps(sam_template.get("Conditions", {}))
    text += json.dumps(sam_template.get("Globals", {}))
    text += json.dumps(sam_template.get("Outputs", {}))
    for name, spec in sam_template["Parameters"].items():
        assert spec.get("Description"), name
        assert "Default" in spec, name
        assert default_is_allowed(spec), name
        assert f'"Ref": "{name}"' in text or "${" + name + "}" in text, f"{name} is unused"


def test_every_parameter_is_in_one_console_group(sam_template: dict[str, Any]) -> None:
    groups = sam_template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = [name for group in groups for name in group["Parameters"]]
    assert sorted(grouped) == sorted(sam_template["Parameters"])


@pytest.mark.parametrize(
    ("origins", "allowed"),
    [
        ("*", True),
        ("https://app.example.com", True),
        ("https://a.example.com,http://localhost:3000", True),
        ("https://a.example.com, https://b.example.com", False),
        ("app.example.com", False),
        ("", False),
    ],
)
def test_allowed_origins_pattern(sam_template: dict[str, Any], origins: str, allowed: bool) -> None:
    # CloudFormation anchors AllowedPattern at both ends, as fullmatch does.
    pattern = sam_template["Parameters"]["AllowedOrigins"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, origins)) is allowed


def table_rows(text: str) -> list[str]:
    """The first cell of each Markdown table row."""
    return re.findall(r"^\|([^|\n]*)\|", text, flags=re.MULTILINE)


def test_every_parameter_is_documented(sam_template: dict[str, Any]) -> None:
    documented = set(re.findall(r"^\|\s*`(\w+)`\s*\|", deploying_text(), flags=re.MULTILINE))
    assert set(EXPECTED_PARAMETERS) <= documented
    assert set(sam_template["Parameters"]) <= documented


def test_every_output_is_documented(translated: dict[str, Any]) -> None:
    documented = {
        name for cell in table_rows(deploying_text()) for name in re.findall(r"`(\w+)`", cell)
    }
    assert set(translated["Outputs"]) <= documented
    # The shared key of the first version is gone, and so is the way to read it.
    assert "ApiKeyId" not in deploying_text()
    assert "get-api-key" not in deploying_text()


def test_operators_are_told_how_keys_behave() -> None:
    text = deploying_text()
    match = re.search(r"^## Keys, credits and rate limits\n(.*?)(?=^## )", text, re.M | re.S)
    assert match, "docs/deploying.md needs a 'Keys, credits and rate limits' section"
    section = match.group(1)
    # The first deploy points at the tool that makes client keys (the stack makes none).
    assert re.search(r"vegart-admin (--stack \S+ )?keys create", text)
    for status in ("401", "403", "406", "429"):
        assert status in section, status
    assert "Retry-After" in section
    assert "AuthorizerCacheSeconds" in section


def test_the_outputs_the_admin_tool_reads_name_what_it_needs(translated: dict[str, Any]) -> None:
    """``vegart-admin --stack`` finds its targets in these outputs (vegart_admin.targets)."""
    from vegart_admin.targets import STACK_OUTPUTS

    outputs = translated["Outputs"]
    kinds = {
        "KeysTableName": "AWS::DynamoDB::Table",
        "ApiId": "AWS::ApiGateway::RestApi",
        "DefaultUsagePlanId": "AWS::ApiGateway::UsagePlan",
    }
    for key in STACK_OUTPUTS.values():
        value = outputs[key]["Value"]
        if key in kinds:
            assert translated["Resources"][value["Ref"]]["Type"] == kinds[key], key
    assert outputs["StageName"]["Value"] == {"Ref": "StageName"}


def test_the_render_url_is_the_routes_url_on_the_stage(translated: dict[str, Any]) -> None:
    render_url = translated["Outputs"]["RenderUrl"]["Value"]["Fn::Sub"]
    assert render_url.startswith("https://${RenderApi}.execute-api.${AWS::Region}.")
    assert render_url.endswith("/${StageName}" + ROUTE)


def test_outputs_refer_to_things_that_exist(translated: dict[str, Any]) -> None:
    names = set(translated["Resources"]) | set(translated["Parameters"])
    text = json.dumps(translated["Outputs"])
    refs = set(re.findall(r'"Ref": "([A-Za-z0-9]+)"', text))
    subs = {
        name.split(".")[0]
        for name in re.findall(r"\$\{([A-Za-z0-9.]+)\}", text)
        if not name.startswith("AWS")
    }
    assert refs | subs <= names


def test_render_leases_expire_on_their_own(sam_template: dict[str, Any]) -> None:
    table = sam_template["Resources"]["RenderLeasesTable"]
    properties = table["Properties"]
    assert properties["KeySchema"] == [{"AttributeName": "render_key", "KeyType": "HASH"}]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    # Seconds-long leases: nothing to keep when the stack goes.
    assert table["DeletionPolicy"] == "Delete"
