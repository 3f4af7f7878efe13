"""The SageMaker backend in template.yaml: made only with Backend=sagemaker, least privilege.

The SAM translator keeps conditions, so each test decides them with ``as_deployed`` for one
value of ``Backend`` and asserts on what CloudFormation would then make. The few intrinsic
functions that take parameters apart (the model object's ARN, the image's repository, the
endpoint's name) are evaluated here with example values, so that the ARNs are checked as
text, not only as expressions.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.helpers.template import (
    EXPECTED_PARAMETERS,
    as_deployed,
    as_list,
    deploying_text,
    evaluate_condition,
    grant,
    resources_of_type,
    role_grants,
)

MODEL_DATA_URL = "s3://vegart-models-123456789012/vegart/model.tar.gz"
SAGEMAKER = {"Backend": "sagemaker", "SageMakerModelDataUrl": MODEL_DATA_URL}
SEGMIND = {"Backend": "segmind"}
#: Every resource of the SageMaker backend, and only those, carry Condition UseSageMaker.
SAGEMAKER_RESOURCES = {
    "RenderModelRole": "AWS::IAM::Role",
    "RenderEndpointLogGroup": "AWS::Logs::LogGroup",
    "RenderModel": "AWS::SageMaker::Model",
    "RenderEndpointConfig": "AWS::SageMaker::EndpointConfig",
    "RenderEndpoint": "AWS::SageMaker::Endpoint",
    "RenderComponent": "AWS::SageMaker::InferenceComponent",
    # Its alarms (tests/infra/test_template_alarms.py).
    "RenderEndpointErrorsAlarm": "AWS::CloudWatch::Alarm",
    "RenderEndpointLatencyAlarm": "AWS::CloudWatch::Alarm",
}
SAGEMAKER_OUTPUTS = {"RenderEndpointName", "RenderComponentName", "RenderEndpointLogGroupName"}
ENDPOINT_ARN = {"Ref": "RenderEndpoint"}
#: Ref of an AWS::SageMaker::InferenceComponent is its ARN too; its name is the ARN's last part.
COMPONENT_ARN = {"Ref": "RenderComponent"}
COMPONENT_NAME = {"Fn::Select": [1, {"Fn::Split": ["/", COMPONENT_ARN]}]}
#: Actions that support no resource-level permission: "*" is the only resource they accept
#: (Service Authorization Reference).
ACTIONS_WITHOUT_RESOURCES = {
    "ecr:GetAuthorizationToken",
    "cloudwatch:PutMetricData",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}
#: Example pseudo parameters for evaluating ARNs.
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "vegart",
    "AWS::StackId": (
        "arn:aws:cloudformation:us-east-1:123456789012:stack/vegart/"
        "5f0e7c30-1b2a-11f0-9c4d-0a1b2c3d4e5f"
    ),
}
#: SageMaker's rule for endpoint names (CreateEndpoint API reference).
ENDPOINT_NAME_PATTERN = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"


# -- helpers -----------------------------------------------------------------------------------


def evaluate(node: Any, values: dict[str, str], resources: dict[str, dict] | None = None) -> Any:
    """The few intrinsic functions the SageMaker resources use, with example values.

    ``Ref`` of a parameter or pseudo parameter, or of a log group (its name); ``Fn::Sub``,
    ``Fn::Select`` and ``Fn::Split``. Anything else is an error, so a new function shows up.
    """
    resources = resources or {}

    def ref(name: str) -> str:
        if name in values:
            return values[name]
        if name in PSEUDO:
            return PSEUDO[name]
        resource = resources[name]
        assert resource["Type"] == "AWS::Logs::LogGroup", name
        return run(resource["Properties"]["LogGroupName"])

    def run(node: Any) -> Any:
        if isinstance(node, str | int | float):
            return node
        if isinstance(node, list):
            return [run(item) for item in node]
        ((function_name, arguments),) = node.items()
        if function_name == "Ref":
            return ref(arguments)
        if function_name == "Fn::Select":
            index, items = arguments
            return run(items)[int(index)]
        if function_name == "Fn::Split":
            delimiter, text = arguments
            return run(text).split(delimiter)
        if function_name == "Fn::Sub":
            text, variables = (arguments, {}) if isinstance(arguments, str) else arguments
            local = {name: run(value) for name, value in variables.items()}
            return re.sub(
                r"\$\{([A-Za-z0-9:]+)\}",
                lambda match: local.get(match.group(1)) or ref(match.group(1)),
                text,
            )
        raise AssertionError(f"unsupported function {function_name}")

    return run(node)


def parameter_values(**overrides: str) -> dict[str, str]:
    return {name: str(value) for name, value in {**EXPECTED_PARAMETERS, **overrides}.items()}


@pytest.fixture(scope="module")
def sagemaker_translated(translate_with) -> dict[str, Any]:
    return translate_with(**SAGEMAKER)


@pytest.fixture(scope="module")
def with_sagemaker(
    sam_template: dict[str, Any], sagemaker_translated: dict[str, Any]
) -> dict[str, Any]:
    return as_deployed(sagemaker_translated, sam_template, SAGEMAKER)


@pytest.fixture(scope="module")
def with_segmind(sam_template: dict[str, Any], translated: dict[str, Any]) -> dict[str, Any]:
    return as_deployed(translated, sam_template, SEGMIND)


def render_variables(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]["RenderFunction"]["Properties"]["Environment"]["Variables"]


def model_role_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    (policy,) = template["Resources"]["RenderModelRole"]["Properties"]["Policies"]
    return policy["PolicyDocument"]["Statement"]


def all_statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, statement)
        for name, role in resources_of_type(template, "AWS::IAM::Role").items()
        for policy in role["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]


# -- the Backend parameter and what it switches ------------------------------------------------


def test_backend_chooses_between_segmind_and_sagemaker(sam_template: dict[str, Any]) -> None:
    backend = sam_template["Parameters"]["Backend"]
    assert backend["AllowedValues"] == ["segmind", "sagemaker"]
    assert backend["Default"] == "segmind"
    assert sam_template["Conditions"]["UseSageMaker"] == {
        "Fn::Equals": [{"Ref": "Backend"}, "sagemaker"]
    }
    assert evaluate_condition(sam_template, "UseSageMaker", {"Backend": "sagemaker"})
    assert not evaluate_condition(sam_template, "UseSageMaker", {"Backend": "segmind"})


def test_sagemaker_resources_carry_the_condition(translated: dict[str, Any]) -> None:
    conditional = {
        name: resource["Type"]
        for name, resource in translated["Resources"].items()
        if resource.get("Condition") == "UseSageMaker"
    }
    assert conditional == SAGEMAKER_RESOURCES
    # No SageMaker resource outside the condition.
    for name, resource in translated["Resources"].items():
        if resource["Type"].startswith("AWS::SageMaker::"):
            assert name in SAGEMAKER_RESOURCES, name
    conditional_outputs = {
        name
        for name, output in translated["Outputs"].items()
        if output.get("Condition") == "UseSageMaker"
    }
    assert conditional_outputs == SAGEMAKER_OUTPUTS


def test_segmind_backend_makes_no_sagemaker_resource(with_segmind: dict[str, Any]) -> None:
    assert not set(SAGEMAKER_RESOURCES) & set(with_segmind["Resources"])
    assert not [
        name
        for name, resource in with_segmind["Resources"].items()
        if resource["Type"].startswith("AWS::SageMaker::")
    ]
    assert not SAGEMAKER_OUTPUTS & set(with_segmind["Outputs"])
    # Nothing that is made refers to what is not.
    text = json.dumps(with_segmind["Resources"]) + json.dumps(with_segmind["Outputs"])
    for name in SAGEMAKER_RESOURCES:
        assert f'"{name}"' not in text, name


def test_segmind_backend_has_no_sagemaker_grant(with_segmind: dict[str, Any]) -> None:
    for role, statement in all_statements(with_segmind):
        for action in as_list(statement["Action"]):
            assert not action.startswith("sagemaker:"), (role, statement)
    grants = role_grants(with_segmind, "RenderFunctionRole")
    assert grant("secretsmanager:GetSecretValue", {"Ref": "SegmindApiKeySecret"}) in grants


def test_segmind_backend_names_no_endpoint(with_segmind: dict[str, Any]) -> None:
    variables = render_variables(with_segmind)
    assert variables["SAGEMAKER_ENDPOINT_NAME"] == ""
    assert variables["SAGEMAKER_INFERENCE_COMPONENT"] == ""
    assert variables["VEGART_BACKEND"] == {"Ref": "Backend"}


# -- the model, its endpoint config and endpoint -----------------------------------------------


def test_sagemaker_backend_makes_model_config_and_endpoint(with_sagemaker: dict[str, Any]) -> None:
    resources = with_sagemaker["Resources"]
    for name, resource_type in SAGEMAKER_RESOURCES.items():
        assert resources[name]["Type"] == resource_type, name
    assert set(SAGEMAKER_OUTPUTS) <= set(with_sagemaker["Outputs"])
    assert with_sagemaker["Outputs"]["RenderEndpointName"]["Value"] == {
        "Fn::GetAtt": ["RenderEndpoint", "EndpointName"]
    }
    assert with_sagemaker["Outputs"]["RenderEndpointLogGroupName"]["Value"] == {
        "Ref": "RenderEndpointLogGroup"
    }


def test_model_serves_the_archive_with_the_image(with_sagemaker: dict[str, Any]) -> None:
    model = with_sagemaker["Resources"]["RenderModel"]["Properties"]
    assert model["ExecutionRoleArn"] == {"Fn::GetAtt": ["RenderModelRole", "Arn"]}
    container = model["PrimaryContainer"]
    assert container["Image"] == {"Ref": "SageMakerImageUri"}
    assert evaluate(container["ModelDataUrl"], parameter_values(**SAGEMAKER)) == MODEL_DATA_URL
    # One container, the archive's own code: no Hub model, no multi-model mode.
    assert "Containers" not in model
    assert container.get("Mode", "SingleModel") == "SingleModel"
    assert not {"HF_MODEL_ID", "HF_TASK"} & set(container["Environment"])


def test_model_server_settings(with_sagemaker: dict[str, Any]) -> None:
    environment = with_sagemaker["Resources"]["RenderModel"]["Properties"]["PrimaryContainer"][
        "Environment"
    ]
    assert all(isinstance(value, str) for value in environment.values())
    # sagemaker/code/render_settings.py takes 1/true/yes/on for a true flag.
    assert environment["VEGART_FP16_VAE"].lower() in {"1", "true", "yes", "on"}
    # A real-time endpoint answers within 60 s; the server must not wait longer.
    assert 0 < int(environment["SAGEMAKER_MODEL_SERVER_TIMEOUT"]) <= 60


def test_endpoint_config_is_for_inference_components(with_sagemaker: dict[str, Any]) -> None:
    config = with_sagemaker["Resources"]["RenderEndpointConfig"]["Properties"]
    # An endpoint of inference components takes its role on the config, and no model.
    assert config["ExecutionRoleArn"] == {"Fn::GetAtt": ["RenderModelRole", "Arn"]}
    (variant,) = config["ProductionVariants"]
    assert "ModelName" not in variant
    assert variant["VariantName"] == "AllTraffic"
    assert variant["InstanceType"] == {"Ref": "SageMakerInstanceType"}
    assert variant["InitialInstanceCount"] == 1
    # Instances follow the copies, down to none: what lets the endpoint scale to zero.
    assert variant["ManagedInstanceScaling"] == {
        "Status": "ENABLED",
        "MinInstanceCount": 0,
        "MaxInstanceCount": {"Ref": "SageMakerMaxCopies"},
    }
    assert variant["RoutingConfig"] == {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}
    # Real-time, provisioned instances: not serverless.
    assert "ServerlessConfig" not in variant


def test_the_component_is_the_model_one_gpu_a_copy(
    with_sagemaker: dict[str, Any], sam_template: dict[str, Any], sagemaker_translated: dict
) -> None:
    component = with_sagemaker["Resources"]["RenderComponent"]["Properties"]
    assert component["EndpointName"] == {"Fn::GetAtt": ["RenderEndpoint", "EndpointName"]}
    assert component["VariantName"] == "AllTraffic"
    specification = component["Specification"]
    assert specification["ModelName"] == {"Fn::GetAtt": ["RenderModel", "ModelName"]}
    # One GPU a copy: each copy's container sees only its own, so a multi-GPU instance
    # serves a copy per GPU instead of every worker on GPU 0.
    requirements = specification["ComputeResourceRequirements"]
    assert requirements["NumberOfAcceleratorDevicesRequired"] == 1
    # The smallest offered type (ml.g5.xlarge) has 16 GiB of host memory.
    assert 4096 <= requirements["MinMemoryRequiredInMb"] <= 12288
    # A first start downloads ~3 GB, installs requirements, loads and warms the pipeline.
    # SageMaker accepts 60 to 3600 s for both.
    startup = specification["StartupParameters"]
    assert 600 <= startup["ContainerStartupHealthCheckTimeoutInSeconds"] <= 3600
    assert 600 <= startup["ModelDataDownloadTimeoutInSeconds"] <= 3600
    assert component["RuntimeConfig"]["CopyCount"] == {"Ref": "SageMakerMinCopies"}
    # It starts with one copy when it may scale to zero: a deployment proves the model serves.
    to_zero = {**SAGEMAKER, "SageMakerMinCopies": "0", "SageMakerMaxCopies": "2"}
    deployed = as_deployed(sagemaker_translated, sam_template, to_zero)
    assert deployed["Resources"]["RenderComponent"]["Properties"]["RuntimeConfig"] == {
        "CopyCount": 1
    }


def test_endpoint_uses_the_config(with_sagemaker: dict[str, Any]) -> None:
    endpoint = with_sagemaker["Resources"]["RenderEndpoint"]["Properties"]
    assert endpoint["EndpointConfigName"] == {
        "Fn::GetAtt": ["RenderEndpointConfig", "EndpointConfigName"]
    }


def test_endpoint_name_is_valid_and_matches_its_log_group(with_sagemaker: dict[str, Any]) -> None:
    resources = with_sagemaker["Resources"]
    values = parameter_values(**SAGEMAKER)
    name = evaluate(resources["RenderEndpoint"]["Properties"]["EndpointName"], values)
    # Whatever the stack's name: it is not part of the endpoint's (at most 63 characters).
    assert re.fullmatch(ENDPOINT_NAME_PATTERN, name), name
    assert name == "vegart-render-5f0e7c30-1b2a-11f0-9c4d-0a1b2c3d4e5f"
    component = evaluate(
        resources["RenderComponent"]["Properties"]["InferenceComponentName"], values
    )
    assert component == name
    log_group = resources["RenderEndpointLogGroup"]["Properties"]
    assert (
        evaluate(log_group["LogGroupName"], values) == f"/aws/sagemaker/InferenceComponents/{name}"
    )
    assert log_group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert resources["RenderEndpointLogGroup"]["DeletionPolicy"] == "Delete"


# -- the render function with the sagemaker backend --------------------------------------------


def test_render_function_names_the_endpoint(with_sagemaker: dict[str, Any]) -> None:
    variables = render_variables(with_sagemaker)
    assert variables["SAGEMAKER_ENDPOINT_NAME"] == {
        "Fn::GetAtt": ["RenderEndpoint", "EndpointName"]
    }
    assert variables["SAGEMAKER_INFERENCE_COMPONENT"] == COMPONENT_NAME
    assert variables["VEGART_BACKEND"] == {"Ref": "Backend"}


def test_render_role_may_only_invoke_this_endpoint(with_sagemaker: dict[str, Any]) -> None:
    sagemaker_grants = {
        (action, resource)
        for role in resources_of_type(with_sagemaker, "AWS::IAM::Role")
        for action, resource in role_grants(with_sagemaker, role)
        if action.startswith("sagemaker:")
    }
    # Ref of an AWS::SageMaker::Endpoint is its ARN; a call names the endpoint and component.
    assert sagemaker_grants == {
        grant("sagemaker:InvokeEndpoint", ENDPOINT_ARN),
        grant("sagemaker:InvokeEndpoint", COMPONENT_ARN),
    }
    (statement,) = [
        s
        for role, s in all_statements(with_sagemaker)
        if role == "RenderFunctionRole" and "sagemaker:InvokeEndpoint" in as_list(s["Action"])
    ]
    assert as_list(statement["Action"]) == ["sagemaker:InvokeEndpoint"]
    assert "Condition" not in statement


def test_render_role_reads_no_segmind_key_with_sagemaker(with_sagemaker: dict[str, Any]) -> None:
    grants = role_grants(with_sagemaker, "RenderFunctionRole")
    assert not [action for action, _ in grants if action.startswith("secretsmanager:")]
    # The secret itself stays (simpler, and a switch back to segmind keeps the key).
    assert "SegmindApiKeySecret" in with_sagemaker["Resources"]


# -- the model's role --------------------------------------------------------------------------


def test_model_role_is_for_sagemaker(with_sagemaker: dict[str, Any]) -> None:
    properties = with_sagemaker["Resources"]["RenderModelRole"]["Properties"]
    (statement,) = properties["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    assert not properties.get("ManagedPolicyArns")


def test_model_role_grants_exactly_what_an_endpoint_needs(with_sagemaker: dict[str, Any]) -> None:
    actions = {
        action
        for statement in model_role_statements(with_sagemaker)
        for action in as_list(statement["Action"])
    }
    assert actions == {
        "s3:GetObject",
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:GetAuthorizationToken",
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:DescribeLogStreams",
        "logs:PutLogEvents",
        "cloudwatch:PutMetricData",
    }
    assert all(s["Effect"] == "Allow" for s in model_role_statements(with_sagemaker))


@pytest.mark.parametrize(
    ("url", "arn"),
    [
        (MODEL_DATA_URL, "arn:aws:s3:::vegart-models-123456789012/vegart/model.tar.gz"),
        ("s3://b.example/model.tar.gz", "arn:aws:s3:::b.example/model.tar.gz"),
    ],
)
def test_model_role_reads_the_model_object_only(
    with_sagemaker: dict[str, Any], url: str, arn: str
) -> None:
    s3 = [
        s
        for s in model_role_statements(with_sagemaker)
        if any(action.startswith("s3:") for action in as_list(s["Action"]))
    ]
    (statement,) = s3
    assert as_list(statement["Action"]) == ["s3:GetObject"]
    (resource,) = as_list(statement["Resource"])
    values = parameter_values(Backend="sagemaker", SageMakerModelDataUrl=url)
    # The object's ARN: no bucket-wide "/*", no ListBucket.
    assert evaluate(resource, values) == arn


@pytest.mark.parametrize(
    ("image", "repository_arn"),
    [
        (
            EXPECTED_PARAMETERS["SageMakerImageUri"],
            "arn:aws:ecr:us-east-1:763104351884:repository/huggingface-pytorch-inference",
        ),
        (
            "763104351884.dkr.ecr.eu-west-1.amazonaws.com/huggingface-pytorch-inference:"
            "2.6.0-transformers4.49.0-gpu-py312-cu124-ubuntu22.04",
            "arn:aws:ecr:eu-west-1:763104351884:repository/huggingface-pytorch-inference",
        ),
        (
            "123456789012.dkr.ecr.us-west-2.amazonaws.com/my-render-image:v3",
            "arn:aws:ecr:us-west-2:123456789012:repository/my-render-image",
        ),
    ],
)
def test_model_role_pulls_from_the_image_repository_only(
    with_sagemaker: dict[str, Any], image: str, repository_arn: str
) -> None:
    (statement,) = [
        s
        for s in model_role_statements(with_sagemaker)
        if "ecr:BatchGetImage" in as_list(s["Action"])
    ]
    assert set(as_list(statement["Action"])) == {
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    }
    (resource,) = as_list(statement["Resource"])
    values = parameter_values(**SAGEMAKER, SageMakerImageUri=image)
    assert evaluate(resource, values) == repository_arn


def test_model_role_writes_the_endpoints_logs_only(with_sagemaker: dict[str, Any]) -> None:
    (statement,) = [
        s
        for s in model_role_statements(with_sagemaker)
        if any(action.startswith("logs:") for action in as_list(s["Action"]))
    ]
    values = parameter_values(**SAGEMAKER)
    group = "/aws/sagemaker/InferenceComponents/vegart-render-5f0e7c30-1b2a-11f0-9c4d-0a1b2c3d4e5f"
    resources = []
    for resource in as_list(statement["Resource"]):
        if resource == {"Fn::GetAtt": ["RenderEndpointLogGroup", "Arn"]}:
            # A log group's Arn attribute is the group's ARN with ":*" (its streams).
            resources.append(f"arn:aws:logs:us-east-1:123456789012:log-group:{group}:*")
        else:
            resources.append(evaluate(resource, values, with_sagemaker["Resources"]))
    assert sorted(resources) == [
        f"arn:aws:logs:us-east-1:123456789012:log-group:{group}",
        f"arn:aws:logs:us-east-1:123456789012:log-group:{group}:*",
    ]


def test_metrics_only_in_sagemakers_namespace(with_sagemaker: dict[str, Any]) -> None:
    (statement,) = [
        s
        for s in model_role_statements(with_sagemaker)
        if "cloudwatch:PutMetricData" in as_list(s["Action"])
    ]
    assert as_list(statement["Action"]) == ["cloudwatch:PutMetricData"]
    assert statement["Condition"] == {
        "StringEquals": {
            "cloudwatch:namespace": [
                "/aws/sagemaker/Endpoints",
                "/aws/sagemaker/InferenceComponents",
            ]
        }
    }


@pytest.mark.parametrize("tracing", ["false", "true"])
def test_every_wildcard_is_for_actions_that_take_no_resource(
    sam_template: dict[str, Any], sagemaker_translated: dict[str, Any], tracing: str
) -> None:
    deployed = as_deployed(
        sagemaker_translated, sam_template, {**SAGEMAKER, "EnableTracing": tracing}
    )
    wildcard_actions = set()
    for role, statement in all_statements(deployed):
        actions = set(as_list(statement["Action"]))
        assert not any(action == "*" or action.endswith(":*") for action in actions), role
        assert statement["Effect"] == "Allow", role
        if "*" in as_list(statement["Resource"]):
            assert as_list(statement["Resource"]) == ["*"], (role, statement)
            assert actions <= ACTIONS_WITHOUT_RESOURCES, (role, statement)
            wildcard_actions |= actions
    expected = {"ecr:GetAuthorizationToken", "cloudwatch:PutMetricData"}
    if tracing == "true":
        expected |= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    assert wildcard_actions == expected


# -- parameters, rule and docs -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("", True),
        (MODEL_DATA_URL, True),
        ("s3://bucket.example/model.tar.gz", True),
        ("s3://bucket/", False),
        ("s3://bucket/vegart/", False),
        ("s3://bucket/model.zip", False),
        ("s3://Bucket/model.tar.gz", False),
        ("https://bucket.s3.amazonaws.com/model.tar.gz", False),
        ("s3://bucket/my model.tar.gz", False),
    ],
)
def test_model_data_url_pattern(sam_template: dict[str, Any], url: str, allowed: bool) -> None:
    parameter = sam_template["Parameters"]["SageMakerModelDataUrl"]
    assert parameter["Default"] == ""
    # CloudFormation anchors AllowedPattern at both ends, as fullmatch does.
    assert bool(re.fullmatch(parameter["AllowedPattern"], url)) is allowed


@pytest.mark.parametrize(
    ("image", "allowed"),
    [
        (EXPECTED_PARAMETERS["SageMakerImageUri"], True),
        ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/render:1.0", True),
        ("763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-inference", False),
        ("763104351884.dkr.ecr.us-east-1.amazonaws.com/hf@sha256:" + "0" * 64, False),
        ("763104351884.dkr.ecr.us-east-1.amazonaws.com/team/render:1.0", False),
        ("huggingface/transformers-pytorch-gpu:latest", False),
    ],
)
def test_image_uri_pattern(sam_template: dict[str, Any], image: str, allowed: bool) -> None:
    # Only the REPOSITORY:TAG form, which the model role's ECR grant can take apart.
    pattern = sam_template["Parameters"]["SageMakerImageUri"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, image)) is allowed


def test_default_image_is_a_gpu_pytorch_inference_image(sam_template: dict[str, Any]) -> None:
    image = sam_template["Parameters"]["SageMakerImageUri"]["Default"]
    repository, tag = image.split("/", 1)[1].split(":")
    assert repository == "huggingface-pytorch-inference"
    assert "-gpu-" in tag
    assert "region" in sam_template["Parameters"]["SageMakerImageUri"]["Description"]


def test_instance_type_and_count(sam_template: dict[str, Any]) -> None:
    instance_type = sam_template["Parameters"]["SageMakerInstanceType"]
    assert instance_type["Default"] == "ml.g5.xlarge"
    allowed = instance_type["AllowedValues"]
    assert instance_type["Default"] in allowed
    assert len(allowed) == len(set(allowed))
    for value in allowed:
        # GPU instances only.
        assert re.fullmatch(r"ml\.(g5|g6|g6e|p4d|p5)\.\d*x?large", value), value
    count = sam_template["Parameters"]["SageMakerMinCopies"]
    assert count["Type"] == "Number"
    assert count["Default"] == 1
    assert count["MinValue"] == 0  # an endpoint of inference components can scale to zero


@pytest.mark.parametrize(
    ("backend", "url", "accepted"),
    [
        ("segmind", "", True),
        ("segmind", MODEL_DATA_URL, True),
        ("sagemaker", MODEL_DATA_URL, True),
        ("sagemaker", "", False),
    ],
)
def test_rule_asks_for_a_model_with_sagemaker(
    sam_template: dict[str, Any], backend: str, url: str, accepted: bool
) -> None:
    (rule,) = sam_template["Rules"].values()
    values = {"Backend": backend, "SageMakerModelDataUrl": url}
    # Rules use the condition functions; evaluate them as conditions.
    conditions = {"RuleCondition": rule["RuleCondition"]}
    conditions |= {f"Assert{i}": a["Assert"] for i, a in enumerate(rule["Assertions"])}
    as_template = {"Conditions": conditions}
    applies = evaluate_condition(as_template, "RuleCondition", values)
    holds = all(
        evaluate_condition(as_template, f"Assert{i}", values)
        for i in range(len(rule["Assertions"]))
    )
    assert (not applies or holds) is accepted
    for assertion in rule["Assertions"]:
        assert "SageMakerModelDataUrl" in assertion["AssertDescription"]


def test_sagemaker_parameters_have_their_own_console_group(sam_template: dict[str, Any]) -> None:
    groups = sam_template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    (group,) = [g for g in groups if "SageMaker" in g["Label"]["default"]]
    assert set(group["Parameters"]) == {
        "SageMakerModelDataUrl",
        "SageMakerImageUri",
        "SageMakerInstanceType",
        "SageMakerMinCopies",
        "SageMakerMaxCopies",
        "SageMakerInvocationsPerCopy",
    }


def test_deploying_tells_how_to_render_on_sagemaker() -> None:
    text = deploying_text()
    match = re.search(
        r"^## Rendering on your own GPU \(SageMaker\)\n(.*?)(?=^## )", text, re.M | re.S
    )
    assert match, "docs/deploying.md needs a 'Rendering on your own GPU (SageMaker)' section"
    section = match.group(1)
    assert "sagemaker/package.py" in section
    # The model sets VEGART_FP16_VAE, which needs the archive's vae_fp16/ (package.py's
    # --fp16-vae); an archive without it fails to load after the whole startup wait.
    (command,) = re.findall(r"^\s*python sagemaker/package\.py .*$", section, re.M)
    assert "--fp16-vae" in command
    assert "--s3-uri s3://" in command
    assert "Backend=sagemaker" in section
    assert "SageMakerModelDataUrl=" in section
    assert "RenderEndpointName" in section
    # The instance is billed whether or not anyone renders.
    assert re.search(r"around the clock|all the time", section)
    assert "cache" in section.lower()
