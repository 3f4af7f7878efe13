"""A deployment's operations resources in moto, made from ``template.yaml``'s own definitions:
its alarms (CloudWatch) and the GPU endpoint's scaling (Application Auto Scaling).

As :mod:`devkit.resources` makes the tables and queues, this makes each resource with the
one API call CloudFormation would make of its properties as written, its references resolved
to the deployment's local names, so that a definition AWS would refuse fails here first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import boto3

from .api_model import Resolver
from .context import ACCOUNT_ID, REGION
from .moto import know_every_scalable_dimension
from .resources import LOCAL_COMPONENT_ARN, LOCAL_ENDPOINT, Deployment, template

#: The stack name the local names stand under (the local stack's own).
_LOCAL_STACK = "vegart-local"
ALARM = "AWS::CloudWatch::Alarm"
SCALABLE_TARGET = "AWS::ApplicationAutoScaling::ScalableTarget"
SCALING_POLICY = "AWS::ApplicationAutoScaling::ScalingPolicy"


def _resolver(deployment: Deployment, parameters: Mapping[str, str] | None) -> Resolver:
    tpl = template()
    values = {name: str(spec.get("Default", "")) for name, spec in tpl["Parameters"].items()}
    values.update(parameters or {})
    attributes = {
        "JobQueue.QueueName": deployment.job_queue,
        "JobDeadLetterQueue.QueueName": deployment.job_dead_letter_queue,
        "WebhookQueue.QueueName": deployment.webhook_queue,
        "WebhookDeadLetterQueue.QueueName": deployment.webhook_dead_letter_queue,
        "RenderEndpoint.EndpointName": LOCAL_ENDPOINT,
    }
    arn = f"arn:aws:{{}}:{REGION}:{ACCOUNT_ID}:{{}}"
    refs = {
        "AlarmTopic": arn.format("sns", f"{_LOCAL_STACK}-alarms"),
        "RenderComponent": LOCAL_COMPONENT_ARN,
        "RenderEndpointWakePolicy": arn.format(
            "autoscaling",
            f"scalingPolicy:0:resource/sagemaker/inference-component/{_LOCAL_STACK}"
            f":policyName/{_LOCAL_STACK}-render-wake",
        ),
    }
    return Resolver(tpl, values, refs, attributes)


def _made(resolver: Resolver, kind: str) -> dict[str, dict[str, Any]]:
    """The template's resources of ``kind`` that these parameters make, properties resolved."""
    found = {}
    for logical_id, resource in template()["Resources"].items():
        condition = resource.get("Condition")
        if resource["Type"] == kind and (condition is None or resolver.condition(condition)):
            found[logical_id] = resolver.resolve(resource["Properties"])
    return found


def create_alarms(
    deployment: Deployment,
    *,
    parameters: Mapping[str, str] | None = None,
    endpoint_url: str | None = None,
) -> dict[str, str]:
    """Create every alarm the template would for ``parameters``; logical id -> alarm name."""
    cloudwatch = boto3.client("cloudwatch", endpoint_url=endpoint_url)
    made: dict[str, str] = {}
    for logical_id, properties in _made(_resolver(deployment, parameters), ALARM).items():
        name = f"{_LOCAL_STACK}-{logical_id}"
        properties["Threshold"] = float(properties["Threshold"])
        cloudwatch.put_metric_alarm(AlarmName=name, **properties)
        made[logical_id] = name
    return made


def create_scaling(
    deployment: Deployment,
    *,
    parameters: Mapping[str, str] | None = None,
    endpoint_url: str | None = None,
) -> dict[str, str]:
    """Register the scalable targets and put the scaling policies the template would;
    logical id -> the target's resource id, or the policy's name."""
    know_every_scalable_dimension()
    resolver = _resolver(deployment, parameters)
    autoscaling = boto3.client("application-autoscaling", endpoint_url=endpoint_url)
    made: dict[str, str] = {}
    targets = _made(resolver, SCALABLE_TARGET)
    for logical_id, properties in targets.items():
        for bound in ("MinCapacity", "MaxCapacity"):
            properties[bound] = int(properties[bound])
        autoscaling.register_scalable_target(**properties)
        made[logical_id] = properties["ResourceId"]
    for logical_id, properties in _made(resolver, SCALING_POLICY).items():
        target = targets[properties.pop("ScalingTargetId")]
        tracking = properties.get("TargetTrackingScalingPolicyConfiguration")
        if tracking is not None:
            tracking["TargetValue"] = float(tracking["TargetValue"])
        autoscaling.put_scaling_policy(
            ServiceNamespace=target["ServiceNamespace"],
            ResourceId=target["ResourceId"],
            ScalableDimension=target["ScalableDimension"],
            **properties,
        )
        made[logical_id] = properties["PolicyName"]
    return made
