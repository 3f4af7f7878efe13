"""The GPU endpoint's autoscaling, as CloudFormation makes it: target tracking on renders per
instance between SageMakerInstanceCount and SageMakerMaxInstanceCount, only with the SageMaker
backend and a range to scale in; then the same target and policy made in moto from the
template's own definitions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devkit.operations import create_scaling
from devkit.resources import LOCAL_DEPLOYMENT

from .conftest import as_deployed

SAGEMAKER = {
    "Backend": "sagemaker",
    "SageMakerModelDataUrl": "s3://vegart-models-example/vega-rt/model.tar.gz",
}
SCALING = {**SAGEMAKER, "SageMakerInstanceCount": "1", "SageMakerMaxInstanceCount": "4"}
PARTS = ("RenderEndpointScalableTarget", "RenderEndpointScalingPolicy")


@pytest.mark.parametrize(
    "parameters",
    [{}, SAGEMAKER, {**SAGEMAKER, "SageMakerInstanceCount": "3", "SageMakerMaxInstanceCount": "3"}],
    ids=["segmind", "sagemaker-fixed-count", "sagemaker-equal-bounds"],
)
def test_nothing_scales_without_a_range_to_scale_in(
    translated: dict[str, Any], sam_template: dict[str, Any], parameters: dict[str, str]
) -> None:
    deployed = as_deployed(translated, sam_template, parameters)
    assert not set(PARTS) & set(deployed["Resources"])


def test_the_endpoint_scales_on_renders_per_instance_within_its_bounds(
    translated: dict[str, Any], sam_template: dict[str, Any]
) -> None:
    deployed = as_deployed(translated, sam_template, SCALING)
    target = deployed["Resources"]["RenderEndpointScalableTarget"]["Properties"]
    variant = deployed["Resources"]["RenderEndpointConfig"]["Properties"]["ProductionVariants"][0]
    assert target["ServiceNamespace"] == "sagemaker"
    assert target["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert target["ResourceId"] == {
        "Fn::Sub": f"endpoint/${{RenderEndpoint.EndpointName}}/variant/{variant['VariantName']}"
    }
    assert target["MinCapacity"] == {"Ref": "SageMakerInstanceCount"}
    assert target["MaxCapacity"] == {"Ref": "SageMakerMaxInstanceCount"}
    # The endpoint starts at the lower bound.
    assert variant["InitialInstanceCount"] == {"Ref": "SageMakerInstanceCount"}
    assert "RoleARN" not in target  # the service-linked role: no role of ours to widen
    policy = deployed["Resources"]["RenderEndpointScalingPolicy"]["Properties"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert policy["ScalingTargetId"] == {"Ref": "RenderEndpointScalableTarget"}
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
    }
    assert tracking["TargetValue"] == {"Ref": "SageMakerInvocationsPerInstance"}
    assert tracking["ScaleInCooldown"] > tracking["ScaleOutCooldown"]


def test_the_bounds_are_whole_instances_and_never_zero(sam_template: dict[str, Any]) -> None:
    parameters = sam_template["Parameters"]
    for name in ("SageMakerInstanceCount", "SageMakerMaxInstanceCount"):
        assert parameters[name]["Type"] == "Number"
        assert parameters[name]["MinValue"] == 1  # a real-time variant keeps one instance
    assert parameters["SageMakerMaxInstanceCount"]["Default"] == 1  # fixed unless asked


@pytest.fixture
def autoscaling() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("application-autoscaling", region_name="us-east-1")


def test_the_target_and_policy_are_made_from_the_templates_definitions(autoscaling: Any) -> None:
    made = create_scaling(LOCAL_DEPLOYMENT, parameters=SCALING)
    assert set(made) == set(PARTS)
    (target,) = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")[
        "ScalableTargets"
    ]
    assert target["ResourceId"] == "endpoint/vegart-local/variant/AllTraffic"
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 4)
    (policy,) = autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")[
        "ScalingPolicies"
    ]
    assert policy["PolicyName"] == made["RenderEndpointScalingPolicy"]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == 40.0
    assert create_scaling(LOCAL_DEPLOYMENT, parameters=SAGEMAKER) == {}
