"""A deployment in moto for the admin tool, as the stack's outputs would name it, and readers of
what the command line prints."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TABLE = "vegart-admin-test-keys"
STAGE = "v1"
#: The default plan's throttle: unlike vegart.keys' defaults, so that tests see it recorded.
PLAN_RATE = 7.0
PLAN_BURST = 14


@dataclass
class Cloud:
    table: str
    api_id: str
    stage: str
    plan_id: str
    dynamodb: Any
    apigw: Any

    def args(self) -> list[str]:
        """The explicit options naming this deployment."""
        return [
            "--table",
            self.table,
            "--api-id",
            self.api_id,
            "--stage",
            self.stage,
            "--default-plan",
            self.plan_id,
        ]

    def items(self) -> list[dict[str, Any]]:
        return self.dynamodb.scan(TableName=self.table, ConsistentRead=True)["Items"]

    def api_keys(self) -> list[dict[str, Any]]:
        return self.apigw.get_api_keys(includeValues=True)["items"]

    def plan_key_ids(self, plan_id: str) -> set[str]:
        return {key["id"] for key in self.apigw.get_usage_plan_keys(usagePlanId=plan_id)["items"]}

    def plans(self) -> list[dict[str, Any]]:
        return self.apigw.get_usage_plans()["items"]

    def raw(self) -> str:
        """Everything stored anywhere, as text: to prove a plain key is not in it."""
        return json.dumps([self.items(), self.api_keys()], default=str)


def create_api(apigw: Any, name: str = "vegart-test-api") -> str:
    """A REST API with one deployed stage (moto deploys only APIs that have a method)."""
    api_id = apigw.create_rest_api(name=name)["id"]
    root = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
    apigw.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    apigw.create_deployment(restApiId=api_id, stageName=STAGE)
    return api_id


@dataclass
class Result:
    code: int
    out: str
    err: str


#: ``admin(*argv)``: what the ``admin`` fixture returns.
Admin = Callable[..., Result]


def plain_key_of(output: str) -> str:
    """The key on ``create``'s first line, ``api_key: vg_...``."""
    first = output.splitlines()[0]
    assert first.startswith("api_key: ")
    return first.removeprefix("api_key: ")


def field_of(output: str, name: str) -> str:
    """A ``name: value`` line's value from ``show``-style output."""
    for line in output.splitlines():
        key, _, value = line.partition(":")
        if key == name:
            return value.strip()
    raise AssertionError(f"no {name} in {output!r}")
