"""A deployment in moto for the admin tool: the keys table, a REST API with a stage, and the
default usage plan, as the stack's outputs would name them."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from devkit.moto import in_process_aws
from devkit.resources import table_definition
from tests.helpers.admin import (
    PLAN_BURST,
    PLAN_RATE,
    STAGE,
    TABLE,
    Admin,
    Cloud,
    Result,
    create_api,
)
from vegart_admin import cli


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    with in_process_aws():
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(TableName=TABLE, **table_definition("KeysTable"))
        apigw = boto3.client("apigateway")
        api_id = create_api(apigw)
        plan_id = apigw.create_usage_plan(
            name="vegart-test-default",
            throttle={"rateLimit": PLAN_RATE, "burstLimit": PLAN_BURST},
            apiStages=[{"apiId": api_id, "stage": STAGE}],
        )["id"]
        yield Cloud(TABLE, api_id, STAGE, plan_id, dynamodb, apigw)


@pytest.fixture
def admin(capsys: pytest.CaptureFixture[str]) -> Admin:
    """``admin(*argv)``: run the command line, and what it printed."""

    def run(*argv: str) -> Result:
        capsys.readouterr()
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        return Result(code, captured.out, captured.err)

    return run
