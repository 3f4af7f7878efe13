"""template.yaml as CloudFormation sees it after the SAM transform.

cfn-lint validates the SAM resources as written; it does not see what SAM generates (the API
definition with its gateway responses, methods and security, the usage plan, the key). These
tests assert on that output.
"""

from __future__ import annotations

import json
import re
from typing import Any

import botocore.session
import pytest

from .conftest import (
    DEPLOYING_PATH,
    evaluate_condition,
    only_resource,
    resolve_conditions,
    resources_of_type,
)

ROUTE = "/v1/segmind-vega-rt-v1"
#: The only statuses CONTRACT.md lets reach a client from the gateway itself.
CONTRACT_ERROR_STATUSES = {"400", "401", "403", "404", "406", "429", "500", "502", "504"}
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
    # Also what a *missing* x-api-key gets on a method that requires one.
    "INVALID_API_KEY": "401",
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
EXPECTED_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "vegart-gateway",
    "POWERTOOLS_METRICS_NAMESPACE": "VegaRT",
    "POWERTOOLS_LOG_LEVEL": {"Ref": "LogLevel"},
    "VEGART_BACKEND": {"Ref": "Backend"},
    "SEGMIND_BASE_URL": {"Ref": "SegmindBaseUrl"},
    "SEGMIND_SECRET_ID": {"Ref": "SegmindApiKeySecret"},
    "CACHE_BUCKET": {"Ref": "CacheBucket"},
    "REQUEST_DEADLINE_SECONDS": {"Ref": "RequestDeadlineSeconds"},
    "ALLOWED_ORIGINS": {"Ref": "AllowedOrigins"},
    "SECRET_CACHE_SECONDS": "300",
    "POWERTOOLS_TRACE_DISABLED": {"Fn::If": ["TracingOn", "false", "true"]},
}
EXPECTED_PARAMETERS = {
    "Backend": "segmind",
    "SegmindBaseUrl": "https://api.segmind.com/v1",
    "CacheExpiryDays": 30,
    "AllowedOrigins": "*",
    "ThrottleRateLimit": 5,
    "ThrottleBurstLimit": 10,
    "RenderReservedConcurrency": "-1",
    "LogRetentionDays": 30,
    "LogLevel": "INFO",
    "RequestDeadlineSeconds": 25,
    "StageName": "prod",
    "EnableTracing": "false",
}
API_GATEWAY_INTEGRATION_TIMEOUT = 29
XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


# -- helpers -----------------------------------------------------------------------------------


def api_body(translated: dict[str, Any]) -> dict[str, Any]:
    _, api = only_resource(translated, "AWS::ApiGateway::RestApi")
    return api["Properties"]["Body"]


def route_methods(translated: dict[str, Any]) -> dict[str, dict]:
    return api_body(translated)["paths"][ROUTE]


def function(translated: dict[str, Any]) -> dict[str, Any]:
    return translated["Resources"]["RenderFunction"]["Properties"]


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def allow_statements(translated: dict[str, Any]) -> list[tuple[str, dict]]:
    statements = []
    for name, role in resources_of_type(translated, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                statements.append((name, statement))
    for name, policy in resources_of_type(translated, "AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            statements.append((name, statement))
    # Statements under an Fn::If are checked on resolve_conditions' output, where they are plain.
    return [(name, s) for name, s in statements if s.get("Effect") == "Allow"]


def statement_for(translated: dict[str, Any], action: str) -> dict[str, Any]:
    found = [s for _, s in allow_statements(translated) if action in as_list(s["Action"])]
    assert len(found) == 1, f"expected one statement granting {action}, found {found}"
    return found[0]


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


def test_key_errors_speak_of_the_api_key(gateway_responses: dict[str, dict]) -> None:
    for response_type in ("INVALID_API_KEY", "UNAUTHORIZED"):
        message = json.loads(
            gateway_responses[response_type]["responseTemplates"]["application/json"]
        )
        assert "API key" in message["error"]
    not_found = gateway_responses["MISSING_AUTHENTICATION_TOKEN"]["responseTemplates"]
    assert json.loads(not_found["application/json"]) == {"error": "Not found"}


# -- routes, binary media, keys and the usage plan -------------------------------------------


def test_route_has_post_preflight_and_any(translated: dict[str, Any]) -> None:
    assert set(api_body(translated)["paths"]) == {ROUTE}
    assert set(route_methods(translated)) == {"post", "options", "x-amazon-apigateway-any-method"}


def test_every_method_is_a_proxy_to_the_render_function(translated: dict[str, Any]) -> None:
    # No MOCK integration: with */* binary, a mock preflight could not answer.
    for method in route_methods(translated).values():
        integration = method["x-amazon-apigateway-integration"]
        assert integration["type"] == "aws_proxy"
        assert integration["httpMethod"] == "POST"
        assert "${RenderFunction.Arn}" in integration["uri"]["Fn::Sub"]


def test_api_key_required_except_for_the_preflight(translated: dict[str, Any]) -> None:
    methods = route_methods(translated)
    assert methods["post"]["security"] == [{"api_key": []}]
    assert methods["x-amazon-apigateway-any-method"]["security"] == [{"api_key": []}]
    assert methods["options"]["security"] == []
    scheme = api_body(translated)["components"]["securitySchemes"]["api_key"]
    assert scheme == {"type": "apiKey", "name": "x-api-key", "in": "header"}


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


def test_usage_plan_throttles_each_key(translated: dict[str, Any]) -> None:
    _, plan = only_resource(translated, "AWS::ApiGateway::UsagePlan")
    # The translator resolves the parameters' defaults into the usage plan.
    assert plan["Properties"]["Throttle"] == {
        "RateLimit": EXPECTED_PARAMETERS["ThrottleRateLimit"],
        "BurstLimit": EXPECTED_PARAMETERS["ThrottleBurstLimit"],
    }
    assert plan["Properties"]["ApiStages"] == [
        {"ApiId": {"Ref": "RenderApi"}, "Stage": {"Ref": "RenderApiStage"}}
    ]
    assert "Quota" not in plan["Properties"]
    plan_key_name, plan_key = only_resource(translated, "AWS::ApiGateway::UsagePlanKey")
    key_name, key = only_resource(translated, "AWS::ApiGateway::ApiKey")
    assert key["Properties"]["Enabled"] is True
    assert plan_key["Properties"]["KeyId"] == {"Ref": key_name}
    assert plan_key_name


def test_usage_plan_throttle_follows_its_parameters(translate_with) -> None:
    output = translate_with(ThrottleRateLimit=7, ThrottleBurstLimit=13)
    _, plan = only_resource(output, "AWS::ApiGateway::UsagePlan")
    assert plan["Properties"]["Throttle"] == {"RateLimit": 7, "BurstLimit": 13}


# -- the render function ---------------------------------------------------------------------


def test_function_runtime_and_handler(translated: dict[str, Any]) -> None:
    properties = function(translated)
    assert properties["Runtime"] == "python3.13"
    assert properties["Architectures"] == ["arm64"]
    assert properties["Handler"] == "app.lambda_handler"
    assert properties["MemorySize"] == 512
    assert properties["Role"] == {"Fn::GetAtt": ["RenderFunctionRole", "Arn"]}


def test_function_code_and_layer_sources(sam_template: dict[str, Any]) -> None:
    resources = sam_template["Resources"]
    assert resources["RenderFunction"]["Properties"]["CodeUri"] == "functions/render/"
    layer = resources["SharedLayer"]
    assert layer["Properties"]["ContentUri"] == "layers/shared/"
    assert layer["Metadata"]["BuildMethod"] == "python3.13"
    assert layer["Metadata"]["BuildArchitecture"] == "arm64"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


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


def test_function_environment(translated: dict[str, Any]) -> None:
    assert function(translated)["Environment"]["Variables"] == EXPECTED_ENVIRONMENT


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
    permissions = resources_of_type(translated, "AWS::Lambda::Permission")
    assert len(permissions) == 3
    for permission in permissions.values():
        assert permission["Properties"]["FunctionName"] == {"Ref": "RenderFunction"}
        assert permission["Properties"]["Principal"] == "apigateway.amazonaws.com"


# -- least privilege -------------------------------------------------------------------------


def test_no_managed_policies(translated: dict[str, Any]) -> None:
    for name, role in resources_of_type(translated, "AWS::IAM::Role").items():
        assert not role["Properties"].get("ManagedPolicyArns"), name
    assert not resources_of_type(translated, "AWS::IAM::ManagedPolicy")


def test_no_wildcard_resource_without_tracing(
    sam_template: dict[str, Any], translated: dict[str, Any]
) -> None:
    resolved = resolve_conditions(translated, sam_template, {**EXPECTED_PARAMETERS})
    statements = allow_statements(resolved)
    assert statements
    for name, statement in statements:
        actions = set(as_list(statement["Action"]))
        assert not any(action == "*" or action.endswith(":*") for action in actions), name
        assert "*" not in as_list(statement["Resource"]), (name, statement)
    assert function(resolved)["TracingConfig"] == {"Mode": "PassThrough"}
    assert function(resolved)["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "true"
    _, stage = only_resource(resolved, "AWS::ApiGateway::Stage")
    assert stage["Properties"]["TracingEnabled"] is False


def test_tracing_adds_only_the_xray_wildcard(
    sam_template: dict[str, Any], translated: dict[str, Any]
) -> None:
    parameters = {**EXPECTED_PARAMETERS, "EnableTracing": "true"}
    resolved = resolve_conditions(translated, sam_template, parameters)
    wildcards = [s for _, s in allow_statements(resolved) if "*" in as_list(s["Resource"])]
    assert len(wildcards) == 1
    assert set(as_list(wildcards[0]["Action"])) == XRAY_ACTIONS
    assert function(resolved)["TracingConfig"] == {"Mode": "Active"}
    assert function(resolved)["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "false"
    _, stage = only_resource(resolved, "AWS::ApiGateway::Stage")
    assert stage["Properties"]["TracingEnabled"] is True


def test_cache_objects_read_and_write(translated: dict[str, Any]) -> None:
    statement = statement_for(translated, "s3:GetObject")
    assert set(as_list(statement["Action"])) == {"s3:GetObject", "s3:PutObject"}
    assert statement["Resource"] == {"Fn::Sub": "${CacheBucket.Arn}/*"}


def test_cache_bucket_listing_for_honest_misses(translated: dict[str, Any]) -> None:
    statement = statement_for(translated, "s3:ListBucket")
    assert as_list(statement["Action"]) == ["s3:ListBucket"]
    assert statement["Resource"] == {"Fn::GetAtt": ["CacheBucket", "Arn"]}


def test_secret_read_on_the_segmind_key_only(translated: dict[str, Any]) -> None:
    statement = statement_for(translated, "secretsmanager:GetSecretValue")
    assert as_list(statement["Action"]) == ["secretsmanager:GetSecretValue"]
    assert statement["Resource"] == {"Ref": "SegmindApiKeySecret"}


def test_logs_on_its_own_group_only(translated: dict[str, Any]) -> None:
    statement = statement_for(translated, "logs:PutLogEvents")
    assert set(as_list(statement["Action"])) == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert statement["Resource"] == {"Fn::GetAtt": ["RenderLogGroup", "Arn"]}


def test_role_is_for_lambda(translated: dict[str, Any]) -> None:
    role = translated["Resources"]["RenderFunctionRole"]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
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


# -- parameters and outputs ------------------------------------------------------------------


def test_parameters_and_defaults(sam_template: dict[str, Any]) -> None:
    parameters = sam_template["Parameters"]
    assert set(parameters) == set(EXPECTED_PARAMETERS)
    for name, default in EXPECTED_PARAMETERS.items():
        assert parameters[name]["Default"] == default, name
        assert parameters[name].get("Description"), name
    assert parameters["Backend"]["AllowedValues"] == ["segmind"]


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


def test_every_parameter_is_documented() -> None:
    text = DEPLOYING_PATH.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\|\s*`(\w+)`\s*\|", text, flags=re.MULTILINE))
    assert set(EXPECTED_PARAMETERS) <= documented


def test_outputs(translated: dict[str, Any]) -> None:
    outputs = translated["Outputs"]
    assert {"RenderUrl", "ApiId", "ApiKeyId", "CacheBucketName", "SegmindSecretArn"} <= set(outputs)
    render_url = outputs["RenderUrl"]["Value"]["Fn::Sub"]
    assert render_url.startswith("https://${RenderApi}.execute-api.${AWS::Region}.")
    assert render_url.endswith("/${StageName}" + ROUTE)
    assert outputs["ApiId"]["Value"] == {"Ref": "RenderApi"}
    key_name, _ = only_resource(translated, "AWS::ApiGateway::ApiKey")
    assert outputs["ApiKeyId"]["Value"] == {"Ref": key_name}
    assert outputs["CacheBucketName"]["Value"] == {"Ref": "CacheBucket"}
    assert outputs["SegmindSecretArn"]["Value"] == {"Ref": "SegmindApiKeySecret"}


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
