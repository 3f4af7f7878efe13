"""The local stack's AWS side beyond the template's resources: the REST API's stage and default
usage plan in moto's API Gateway, the ``vegart-local`` stack whose outputs name everything (so
that ``vegart-admin --stack vegart-local`` works as against a deployment), and the demo key.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from typing import Any

from devkit.demo import DEMO_LABEL
from devkit.resources import LOCAL_DEPLOYMENT

#: The stack that ``vegart-admin --stack`` finds the local resources by.
STACK_NAME = "vegart-local"
#: The demo key's credits: enough for an afternoon of trying.
DEMO_CREDITS = 1000


def create_api(apigateway: Any, stage: str, parameters: Mapping[str, str]) -> tuple[str, str]:
    """The REST API's stage and default usage plan, where vegart-admin manages keys."""
    api_id = apigateway.create_rest_api(name=f"{STACK_NAME}-api")["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    apigateway.put_method(
        restApiId=api_id, resourceId=root, httpMethod="ANY", authorizationType="NONE"
    )
    apigateway.put_integration(restApiId=api_id, resourceId=root, httpMethod="ANY", type="MOCK")
    apigateway.create_deployment(restApiId=api_id, stageName=stage)
    plan = apigateway.create_usage_plan(
        name=f"{STACK_NAME}-default",
        apiStages=[{"apiId": api_id, "stage": stage}],
        throttle={
            "rateLimit": float(parameters["ThrottleRateLimit"]),
            "burstLimit": int(parameters["ThrottleBurstLimit"]),
        },
    )
    return api_id, plan["id"]


def create_outputs_stack(
    cloudformation: Any, api_id: str, stage: str, plan_id: str, local_names: Mapping[str, str]
) -> None:
    """A stack whose outputs name the local resources, for ``vegart-admin --stack``."""
    outputs = {
        "KeysTableName": LOCAL_DEPLOYMENT.keys_table,
        "ApiId": api_id,
        "StageName": stage,
        "DefaultUsagePlanId": plan_id,
        "CacheBucketName": LOCAL_DEPLOYMENT.bucket,
        "JobsTableName": LOCAL_DEPLOYMENT.jobs_table,
        "JobQueueUrl": local_names["JobQueue"],
        "JobDeadLetterQueueUrl": local_names["JobDeadLetterQueue"],
        "WebhookQueueUrl": local_names["WebhookQueue"],
        "WebhookDeadLetterQueueUrl": local_names["WebhookDeadLetterQueue"],
    }
    body = {
        "Resources": {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {name: {"Value": value} for name, value in outputs.items()},
    }
    with warnings.catch_warnings():  # moto only stores the placeholder, as intended
        warnings.simplefilter("ignore", UserWarning)
        cloudformation.create_stack(StackName=STACK_NAME, TemplateBody=json.dumps(body))


def create_demo_key(aws_url: str, api_key: str) -> None:
    """The demo key, made by ``vegart-admin``'s own code as an operator would make a key."""
    from vegart_admin.operations import create_key  # noqa: PLC0415 - the operator's code
    from vegart_admin.targets import resolve_targets  # noqa: PLC0415

    targets = resolve_targets(stack=STACK_NAME, endpoint_url=aws_url)
    create_key(targets, label=DEMO_LABEL, credits=DEMO_CREDITS, plain_key=api_key)
