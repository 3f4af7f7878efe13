"""The programmatic entry the local stack uses, failures part-way, and a real endpoint URL."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any, NoReturn

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from devkit.resources import table_definition
from tests.helpers.admin import (
    TABLE,
    Admin,
    Cloud,
    field_of,
    plain_key_of,
)
from vegart.keys import MODELS, KeyExists, KeyRecord, KeyStore, key_id
from vegart_admin import operations
from vegart_admin.targets import ENDPOINT_ENV, Targets, resolve_targets

DEMO_KEY = "vg_local-demo-key-0123456789"


def targets_of(cloud: Cloud) -> Targets:
    return resolve_targets(
        table=cloud.table, api_id=cloud.api_id, stage=cloud.stage, default_plan_id=cloud.plan_id
    )


def _refusal(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "InternalServerError", "Message": "boom"}}, operation)


def test_create_key_with_a_chosen_plain_key(cloud: Cloud) -> None:
    plain, record = operations.create_key(
        targets_of(cloud), label="demo", credits=100, plain_key=DEMO_KEY, models=MODELS
    )

    assert plain == DEMO_KEY
    assert record.key_id == key_id(DEMO_KEY)
    assert record.credits == 100
    assert record.api_key_id == cloud.api_keys()[0]["id"]
    assert KeyRecord.from_item(cloud.items()[0]) == record
    assert DEMO_KEY not in cloud.raw()


def test_create_key_twice_with_one_plain_key_is_refused_before_any_write(cloud: Cloud) -> None:
    operations.create_key(targets_of(cloud), label="demo", credits=1, plain_key=DEMO_KEY)

    with pytest.raises(KeyExists):
        operations.create_key(targets_of(cloud), label="again", credits=5, plain_key=DEMO_KEY)

    assert len(cloud.api_keys()) == 1
    assert KeyRecord.from_item(cloud.items()[0]).label == "demo"


def test_create_key_table_only_for_the_local_stack(cloud: Cloud) -> None:
    plain, record = operations.create_key(
        Targets(table=TABLE), label="demo", credits=3, plain_key=DEMO_KEY
    )

    assert plain == DEMO_KEY
    assert record.api_key_id == ""
    assert cloud.api_keys() == []
    assert KeyStore(TABLE, lambda: cloud.dynamodb).require(key_id(DEMO_KEY)) == record


def test_a_failed_table_write_removes_the_api_key(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: KeyStore, record: KeyRecord) -> NoReturn:
        raise _refusal("PutItem")

    monkeypatch.setattr(KeyStore, "add", refuse)

    with pytest.raises(ClientError):
        operations.create_key(targets_of(cloud), label="x", credits=1)

    assert cloud.api_keys() == []
    assert cloud.plan_key_ids(cloud.plan_id) == set()
    assert cloud.items() == []


def test_a_failed_plan_attachment_removes_the_api_key(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    targets = targets_of(cloud)
    apigw = targets.client("apigateway")

    def refuse(**request: Any) -> NoReturn:
        raise _refusal("CreateUsagePlanKey")

    monkeypatch.setattr(apigw, "create_usage_plan_key", refuse)

    with pytest.raises(ClientError):
        operations.create_key(targets, label="x", credits=1)

    assert cloud.api_keys() == []
    assert cloud.items() == []


def test_a_failure_part_way_is_one_line_on_the_command_line(
    admin: Admin, cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: KeyStore, record: KeyRecord) -> NoReturn:
        raise _refusal("PutItem")

    monkeypatch.setattr(KeyStore, "add", refuse)

    result = admin(*cloud.args(), "keys", "create", "--label", "x", "--credits", "1")

    assert result.code == 1
    assert result.out == ""
    assert result.err.strip() == (
        "vegart-admin: error: AWS refused PutItem: InternalServerError: boom"
    )
    assert cloud.api_keys() == []


@pytest.fixture
def moto_server() -> Iterator[str]:
    """moto as a server, as the local stack runs it; the endpoint URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("dynamodb", endpoint_url=endpoint).create_table(
        TableName=TABLE, **table_definition("KeysTable")
    )
    yield endpoint
    server.stop()


def test_the_endpoint_url_reaches_a_moto_server(
    admin: Admin, moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = admin("--endpoint-url", moto_server, "--table", TABLE, "keys", "create",
                 "--label", "local", "--credits", "2")  # fmt: skip
    assert made.code == 0, made.err
    made_id = field_of(made.out, "key_id")
    assert made_id == key_id(plain_key_of(made.out))

    monkeypatch.setenv(ENDPOINT_ENV, moto_server)
    topped = admin("--table", TABLE, "keys", "top-up", made_id[:8], "--credits", "3")
    assert topped.code == 0, topped.err
    assert field_of(topped.out, "credits") == "5"

    store = KeyStore(TABLE, lambda: boto3.client("dynamodb", endpoint_url=moto_server))
    assert store.require(made_id).credits == 5


def test_the_module_runs_as_a_script() -> None:
    answer = subprocess.run(
        [sys.executable, "-m", "vegart_admin", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert answer.returncode == 0
    assert "vegart-admin" in answer.stdout
