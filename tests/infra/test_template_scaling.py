"""The GPU endpoint's autoscaling, as CloudFormation makes it: the inference component's copies
between SageMakerMinCopies and SageMakerMaxCopies by target tracking on renders per copy, and,
when the lower bound is 0, a step policy that its wake alarm fires to start a copy from zero
(target tracking cannot: at zero copies there is nothing per copy to track). Only with the
SageMaker backend and a range to scale in. Then the same target and policies made in moto
from the template's own definitions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from devkit.moto import in_process_aws
from devkit.operations import create_scaling
from devkit.resources import LOCAL_DEPLOYMENT
from tests.helpers.template import as_deployed

SAGEMAKER = {
    "Backend": "sagemaker",
    "SageMakerModelDataUrl": "s3://vegart-models-example/vega-rt/model.tar.gz",
}
SCALING = {**SAGEMAKER, "SageMakerMinCopies": "1", "SageMakerMaxCopies": "4"}
TO_ZERO = {**SAGEMAKER, "SageMakerMinCopies": "0", "SageMakerMaxCopies": "4"}
PARTS = ("RenderEndpointScalableTarget", "RenderEndpointScalingPolicy")
WAKE = ("RenderEndpointWakePolicy", "RenderEndpointWakeAlarm")
COMPONENT_NAME = {"Fn::Select": [1, {"Fn::Split": ["/", {"Ref": "RenderComponent"}]}]}


@pytest.mark.parametrize(
    "parameters",
    [{}, SAGEMAKER, {**SAGEMAKER, "SageMakerMinCopies": "3", "SageMakerMaxCopies": "3"}],
    ids=["segmind", "sagemaker-fixed-count", "sagemaker-equal-bounds"],
)
def test_nothing_scales_without_a_range_to_scale_in(
    translated: dict[str, Any], sam_template: dict[str, Any], parameters: dict[str, str]
) -> None:
    deployed = as_deployed(translated, sam_template, parameters)
    assert not {*PARTS, *WAKE} & set(deployed["Resources"])


def test_the_copies_scale_on_renders_per_copy_within_their_bounds(
    translated: dict[str, Any], sam_template: dict[str, Any]
) -> None:
    deployed = as_deployed(translated, sam_template, SCALING)
    target = deployed["Resources"]["RenderEndpointScalableTarget"]["Properties"]
    assert target["ServiceNamespace"] == "sagemaker"
    assert target["ScalableDimension"] == "sagemaker:inference-component:DesiredCopyCount"
    assert target["ResourceId"] == {
        "Fn::Sub": ["inference-component/${Component}", {"Component": COMPONENT_NAME}]
    }
    assert target["MinCapacity"] == {"Ref": "SageMakerMinCopies"}
    assert target["MaxCapacity"] == {"Ref": "SageMakerMaxCopies"}
    assert "RoleARN" not in target  # the service-linked role: no role of ours to widen
    policy = deployed["Resources"]["RenderEndpointScalingPolicy"]["Properties"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert policy["ScalingTargetId"] == {"Ref": "RenderEndpointScalableTarget"}
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"
    }
    assert tracking["TargetValue"] == {"Ref": "SageMakerInvocationsPerCopy"}
    assert tracking["ScaleInCooldown"] > tracking["ScaleOutCooldown"]
    # A lower bound of 1 never reaches zero: no wake-up needed.
    assert not set(WAKE) & set(deployed["Resources"])


def test_from_zero_the_wake_alarm_sets_exactly_one_copy(
    translated: dict[str, Any], sam_template: dict[str, Any]
) -> None:
    deployed = as_deployed(translated, sam_template, TO_ZERO)
    resources = deployed["Resources"]
    assert set(PARTS) <= set(resources)
    policy = resources["RenderEndpointWakePolicy"]["Properties"]
    assert policy["PolicyType"] == "StepScaling"
    assert policy["ScalingTargetId"] == {"Ref": "RenderEndpointScalableTarget"}
    steps = policy["StepScalingPolicyConfiguration"]
    # One copy, however often the alarm fires while that copy starts (minutes).
    assert steps["AdjustmentType"] == "ExactCapacity"
    assert steps["StepAdjustments"] == [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]
    alarm = resources["RenderEndpointWakeAlarm"]["Properties"]
    assert alarm["AlarmActions"] == [{"Ref": "RenderEndpointWakePolicy"}]
    assert alarm["MetricName"] == "NoCapacityInvocationFailures"
    # The endpoint's instances may go too, and it starts with a copy to prove it serves.
    variant = resources["RenderEndpointConfig"]["Properties"]["ProductionVariants"][0]
    assert variant["ManagedInstanceScaling"]["MinInstanceCount"] == 0
    assert resources["RenderComponent"]["Properties"]["RuntimeConfig"]["CopyCount"] == 1


def test_the_bounds_are_whole_copies_and_the_lower_may_be_zero(
    sam_template: dict[str, Any],
) -> None:
    parameters = sam_template["Parameters"]
    for name in ("SageMakerMinCopies", "SageMakerMaxCopies"):
        assert parameters[name]["Type"] == "Number"
    assert parameters["SageMakerMinCopies"]["MinValue"] == 0
    assert parameters["SageMakerMaxCopies"]["MinValue"] == 1
    assert parameters["SageMakerMinCopies"]["Default"] == 1  # one copy unless asked
    assert parameters["SageMakerMaxCopies"]["Default"] == 1  # fixed unless asked


@pytest.fixture
def autoscaling() -> Iterator[Any]:
    with in_process_aws():
        yield boto3.client("application-autoscaling", region_name="us-east-1")


def test_the_target_and_policies_are_made_from_the_templates_definitions(
    autoscaling: Any,
) -> None:
    made = create_scaling(LOCAL_DEPLOYMENT, parameters=TO_ZERO)
    assert set(made) == {*PARTS, "RenderEndpointWakePolicy"}
    (target,) = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")[
        "ScalableTargets"
    ]
    assert target["ResourceId"] == "inference-component/vegart-local"
    assert target["ScalableDimension"] == "sagemaker:inference-component:DesiredCopyCount"
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 4)
    policies = {
        policy["PolicyName"]: policy
        for policy in autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")[
            "ScalingPolicies"
        ]
    }
    tracking = policies[made["RenderEndpointScalingPolicy"]]
    assert tracking["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 25.0
    wake = policies[made["RenderEndpointWakePolicy"]]
    assert wake["StepScalingPolicyConfiguration"]["AdjustmentType"] == "ExactCapacity"
    assert create_scaling(LOCAL_DEPLOYMENT, parameters=SAGEMAKER) == {}
