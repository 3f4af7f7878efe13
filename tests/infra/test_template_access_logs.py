"""API access logs, as CloudFormation makes them: off by default; with EnableAccessLogs, one
JSON line per request (API Gateway's own refusals included) in a log group of the stack's,
carrying the request id the functions log; the account's logging role only when asked for."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.logging import correlation_paths

from devkit.functions import FUNCTIONS
from tests.helpers.template import as_deployed, resources_of_type

ON = {"EnableAccessLogs": "true"}
WITH_ROLE = {**ON, "SetApiGatewayLoggingRole": "true"}


def stage(deployed: dict[str, Any]) -> dict[str, Any]:
    (found,) = resources_of_type(deployed, "AWS::ApiGateway::Stage").values()
    return dict(found["Properties"])


def log_format(deployed: dict[str, Any]) -> dict[str, str]:
    """The access log's fields, each with the ``$context`` variable it is."""
    text = stage(deployed)["AccessLogSetting"]["Format"]
    document: dict[str, str] = json.loads(text)
    return document


def test_access_logs_are_off_by_default(
    translated: dict[str, Any], sam_template: dict[str, Any]
) -> None:
    deployed = as_deployed(translated, sam_template, {})
    assert "AccessLogSetting" not in stage(deployed)
    for name in ("ApiAccessLogGroup", "ApiGatewayLoggingRole", "ApiGatewayAccount"):
        assert name not in deployed["Resources"], name


def test_on_every_request_is_a_json_line_in_the_stacks_log_group(
    translated: dict[str, Any], sam_template: dict[str, Any]
) -> None:
    deployed = as_deployed(translated, sam_template, ON)
    setting = stage(deployed)["AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    group = deployed["Resources"]["ApiAccessLogGroup"]["Properties"]
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    fields = log_format(deployed)
    # What an operator needs of a refusal that never reached a function.
    assert fields["status"] == "$context.status"
    assert fields["responseType"] == "$context.error.responseType"
    assert fields["keyId"] == "$context.authorizer.principalId"
    assert all(value.startswith("$context.") for value in fields.values())
    # No header of the request: the client's key stays out of the logs.
    assert not any("apiKey" in value or "header" in value for value in fields.values())
    # Only the account's role is asked for separately.
    assert "ApiGatewayLoggingRole" not in deployed["Resources"]
    assert deployed["Outputs"]["ApiAccessLogGroupName"]["Value"] == {"Ref": "ApiAccessLogGroup"}


@pytest.mark.parametrize("function", ["render", "jobs"])
def test_the_log_carries_the_request_id_the_functions_log(
    translated: dict[str, Any], sam_template: dict[str, Any], function: str
) -> None:
    fields = log_format(as_deployed(translated, sam_template, ON))
    # Powertools logs requestContext.requestId as correlation_id: $context.requestId.
    assert correlation_paths.API_GATEWAY_REST == "requestContext.requestId"
    assert fields["requestId"] == "$context.requestId"
    code = (FUNCTIONS / function / "app.py").read_text(encoding="utf-8")
    assert "correlation_id_path=correlation_paths.API_GATEWAY_REST" in code


def test_the_accounts_logging_role_is_made_only_when_asked_and_set_before_the_stage_logs(
    translated: dict[str, Any], sam_template: dict[str, Any]
) -> None:
    assert (
        "ApiGatewayAccount"
        not in as_deployed(translated, sam_template, {"SetApiGatewayLoggingRole": "true"})[
            "Resources"
        ]
    )  # no access logs, no role
    deployed = as_deployed(translated, sam_template, WITH_ROLE)
    account = deployed["Resources"]["ApiGatewayAccount"]["Properties"]
    assert account["CloudWatchRoleArn"] == {"Fn::GetAtt": ["ApiGatewayLoggingRole", "Arn"]}
    role = deployed["Resources"]["ApiGatewayLoggingRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert not role.get("ManagedPolicyArns")
    (policy,) = role["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert all(action.startswith("logs:") for action in statement["Action"])
    assert statement["Resource"] != "*"
    # The log group refers to the account setting: CloudFormation makes the setting first,
    # and the stage (which refers to the log group) after it.
    tags = deployed["Resources"]["ApiAccessLogGroup"]["Properties"]["Tags"]
    assert {"Ref": "ApiGatewayAccount"} in [tag["Value"] for tag in tags]
