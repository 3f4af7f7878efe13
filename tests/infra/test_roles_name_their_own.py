"""Least privilege on the template as deployed: each function's role names only its own
resources, and each function runs as its own role."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers.template import as_deployed, load_template, translate

#: The resources each role may name: its function's own, and nothing of the other's.
OWN_RESOURCES = {
    "RenderFunctionRole": {
        "RenderLogGroup",
        "CacheBucket",
        "KeysTable",
        "RenderLeasesTable",
        "SegmindApiKeySecret",
        "RenderEndpoint",
        "RenderComponent",
    },
    "AuthorizerFunctionRole": {"AuthorizerLogGroup", "KeysTable"},
    "RenderModelRole": {"RenderEndpointLogGroup"},
    # The jobs function never renders: no secret, no endpoint, no leases.
    "JobsFunctionRole": {
        "JobsLogGroup",
        "CacheBucket",
        "KeysTable",
        "JobsTable",
        "JobQueue",
        "WebhookQueue",
    },
    "JobWorkerFunctionRole": {
        "JobWorkerLogGroup",
        "JobQueue",
        "WebhookQueue",
        "CacheBucket",
        "KeysTable",
        "JobsTable",
        "RenderLeasesTable",
        "SegmindApiKeySecret",
        "RenderEndpoint",
        "RenderComponent",
    },
    "JobDeadLetterFunctionRole": {
        "JobDeadLetterLogGroup",
        "JobDeadLetterQueue",
        "WebhookQueue",
        "JobsTable",
        "KeysTable",
    },
    # Its queue, the jobs it reports on, the keys' secrets, and the renders its URLs point at.
    "WebhookSenderFunctionRole": {
        "WebhookSenderLogGroup",
        "WebhookQueue",
        "JobsTable",
        "KeysTable",
        "CacheBucket",
    },
}
DEPLOYMENTS = {
    "segmind": {},
    "segmind-tracing": {"EnableTracing": "true"},
    "sagemaker-tracing": {
        "Backend": "sagemaker",
        "SageMakerModelDataUrl": "s3://vegart-models-example/vega-rt/model.tar.gz",
        "EnableTracing": "true",
    },
}
_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z]+)?\}")


def named_resources(node: Any, resources: set[str]) -> set[str]:
    """The template resources a policy names through Ref, GetAtt or Sub."""
    found: set[str] = set()
    if isinstance(node, dict):
        if "Ref" in node and node["Ref"] in resources:
            found.add(node["Ref"])
        if "Fn::GetAtt" in node:
            target = node["Fn::GetAtt"]
            name = target[0] if isinstance(target, list) else str(target).split(".")[0]
            found.add(name)
        if "Fn::Sub" in node:
            sub = node["Fn::Sub"]
            text, variables = (sub, {}) if isinstance(sub, str) else (sub[0], sub[1])
            found |= {m for m in _SUB_NAME.findall(text) if m in resources}
            found |= named_resources(variables, resources)
        for key, value in node.items():
            if key not in ("Fn::Sub",):
                found |= named_resources(value, resources)
    elif isinstance(node, list):
        for item in node:
            found |= named_resources(item, resources)
    return found


@pytest.fixture(scope="module")
def deployments(monkeypatch_module: pytest.MonkeyPatch) -> dict[str, dict[str, Any]]:
    template = load_template()
    translated = translate(template)
    return {
        name: as_deployed(translated, template, parameters)
        for name, parameters in DEPLOYMENTS.items()
    }


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        yield patch


@pytest.mark.parametrize("deployment", sorted(DEPLOYMENTS))
def test_each_role_names_only_its_own_resources(
    deployments: dict[str, dict[str, Any]], deployment: str
) -> None:
    stack = deployments[deployment]
    resources = set(stack["Resources"])
    roles = {
        name: resource
        for name, resource in stack["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role"
    }
    assert set(roles) <= set(OWN_RESOURCES), f"a role this test does not know: {sorted(roles)}"
    for name, role in roles.items():
        named = named_resources(role["Properties"].get("Policies", []), resources)
        assert named <= OWN_RESOURCES[name], (name, sorted(named - OWN_RESOURCES[name]))
    for renderer in ("RenderFunctionRole", "JobWorkerFunctionRole"):
        render_names = named_resources(roles[renderer]["Properties"], resources)
        if deployment.startswith("segmind"):
            assert not {"RenderEndpoint", "RenderComponent"} & render_names
            assert "SegmindApiKeySecret" in render_names
        else:
            assert "SegmindApiKeySecret" not in render_names
            assert {"RenderEndpoint", "RenderComponent"} <= render_names


@pytest.mark.parametrize("deployment", sorted(DEPLOYMENTS))
def test_each_function_runs_as_its_own_role(
    deployments: dict[str, dict[str, Any]], deployment: str
) -> None:
    stack = deployments[deployment]
    functions = {
        name: resource["Properties"]["Role"]
        for name, resource in stack["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    assert functions == {
        name: {"Fn::GetAtt": [f"{name}Role", "Arn"]}
        for name in (
            "RenderFunction",
            "AuthorizerFunction",
            "JobsFunction",
            "JobWorkerFunction",
            "JobDeadLetterFunction",
            "WebhookSenderFunction",
        )
    }
