"""The SAM template as written and as the SAM translator expands it, and readers of both.

The translation is what ``sam validate`` and CloudFormation's own transform do, run in-process
with no AWS call: local code paths are swapped for S3 placeholders (as ``sam validate`` does)
and the managed-policy loader answers from an empty map.
"""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml
from samtranslator.translator.transform import transform

from vegart.config import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"
OPENAPI_PATH = REPO_ROOT / "docs" / "openapi.yaml"
DEPLOYING_PATH = REPO_ROOT / "docs" / "deploying.md"
REGION = "us-east-1"
_NO_VALUE = {"Ref": "AWS::NoValue"}


class _NoManagedPolicies:
    """The translator asks for AWS's managed-policy ARNs only to expand policy names."""

    def load(self) -> dict[str, str]:
        return {}


def load_template() -> dict[str, Any]:
    """template.yaml as plain dicts and lists (short-form tags expanded: ``!Ref`` → ``Ref``)."""
    return json.loads(json.dumps(cfn_yaml.load(str(TEMPLATE_PATH))))


def translate(template: dict[str, Any], parameters: dict[str, Any] | None = None) -> dict:
    """Expand the SAM template to plain CloudFormation, as ``sam validate`` does."""
    sam = copy.deepcopy(template)
    for resource in sam.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                properties[key] = f"s3://placeholder-bucket/{properties[key]}"
    # The translator warns about feature toggles it has no config for; that is noise here.
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    return transform(sam, parameters or {}, _NoManagedPolicies())


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict]:
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def only_resource(template: dict[str, Any], resource_type: str) -> tuple[str, dict]:
    found = resources_of_type(template, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.items()))


def evaluate_condition(template: dict[str, Any], name: str, parameters: dict[str, str]) -> bool:
    """A small evaluator for the condition functions this template uses."""

    def value(node: Any) -> Any:
        if isinstance(node, dict) and "Ref" in node:
            return parameters[node["Ref"]]
        return node

    def truth(node: Any) -> bool:
        ((function_name, arguments),) = node.items()
        if function_name == "Fn::Equals":
            return str(value(arguments[0])) == str(value(arguments[1]))
        if function_name == "Fn::Not":
            return not truth(arguments[0])
        if function_name == "Fn::Or":
            return any(truth(argument) for argument in arguments)
        if function_name == "Fn::And":
            return all(truth(argument) for argument in arguments)
        if function_name == "Condition":
            return truth(template["Conditions"][arguments])
        raise AssertionError(f"unsupported condition function {function_name}")

    return truth(template["Conditions"][name])


def resolve_conditions(
    translated: dict[str, Any], template: dict[str, Any], parameters: dict[str, Any]
) -> dict[str, Any]:
    """The translated template with every ``Fn::If`` decided for these parameter values.

    What CloudFormation does at deploy time: the chosen branch stays, ``AWS::NoValue`` drops
    out of lists and mappings.
    """
    values = {name: str(value) for name, value in parameters.items()}

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Fn::If"}:
                condition, when_true, when_false = node["Fn::If"]
                chosen = (
                    when_true if evaluate_condition(template, condition, values) else when_false
                )
                return resolve(chosen)
            items = ((key, resolve(value)) for key, value in node.items())
            return {key: value for key, value in items if value != _NO_VALUE}
        if isinstance(node, list):
            return [item for item in map(resolve, node) if item != _NO_VALUE]
        return node

    return resolve(copy.deepcopy(translated))


def as_deployed(
    translated: dict[str, Any], template: dict[str, Any], parameters: dict[str, Any]
) -> dict[str, Any]:
    """What CloudFormation makes for these parameter values: conditions decided, and the
    resources and outputs whose ``Condition`` is false left out.

    Parameters not given take their template default.
    """
    values = {
        name: str(parameter.get("Default", ""))
        for name, parameter in template.get("Parameters", {}).items()
    }
    values.update({name: str(value) for name, value in parameters.items()})
    resolved = resolve_conditions(translated, template, values)
    for section in ("Resources", "Outputs"):
        resolved[section] = {
            name: item
            for name, item in resolved.get(section, {}).items()
            if "Condition" not in item or evaluate_condition(template, item["Condition"], values)
        }
    return resolved


#: The template's own parameter defaults: the stack an operator gets without choosing.
EXPECTED_PARAMETERS = {
    name: spec["Default"] for name, spec in load_template()["Parameters"].items()
}
#: Variables a function is given that Powertools, not the gateway's settings, reads.
POWERTOOLS_VARIABLES = {
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
    "POWERTOOLS_TRACE_DISABLED",
}
AUTHORIZER = "KeyAuthorizer"
#: The v2 routes, beside v1's.
V2_ROUTES = {
    "/v2/segmind-vega-rt-v1",
    "/v2/requests/{request_id}/status",
    "/v2/requests/{request_id}",
    "/v2/webhooks/default/secret",
}


def api_body(translated: dict[str, Any]) -> dict[str, Any]:
    _, api = only_resource(translated, "AWS::ApiGateway::RestApi")
    return api["Properties"]["Body"]


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


def role_grants(translated: dict[str, Any], role: str) -> set[tuple[str, str]]:
    """(action, resource as JSON) pairs that a role's Allow statements grant."""
    return {
        (action, json.dumps(resource, sort_keys=True))
        for name, statement in allow_statements(translated)
        if name == role
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    }


def grant(action: str, resource: Any) -> tuple[str, str]:
    return action, json.dumps(resource, sort_keys=True)


def deploying_text() -> str:
    return DEPLOYING_PATH.read_text(encoding="utf-8")


def variables_the_settings_read() -> set[str]:
    """Every environment variable ``Settings.from_env`` looks up, recorded as it reads."""
    seen: set[str] = set()

    class Recording(dict[str, str]):
        def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
            seen.add(name)
            return default

    Settings.from_env(Recording())
    return seen
