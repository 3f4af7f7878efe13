"""Every verb of ``vegart-admin keys``, through ``cli.main`` against moto."""

from __future__ import annotations

import io
import json
import logging

import boto3
import pytest

from tests.helpers.admin import (
    PLAN_BURST,
    PLAN_RATE,
    STAGE,
    TABLE,
    Admin,
    Cloud,
    create_api,
    field_of,
)
from tests.helpers.admin import plain_key_of as plain_of
from vegart.keys import DEFAULT_BURST, DEFAULT_RATE, KeyRecord, KeyStore, key_id
from vegart.webhooks.signatures import WebhookSecrets


def create(
    admin: Admin, cloud: Cloud, *extra: str, label: str = "acme", credits: str = "50"
) -> tuple[str, str]:
    """Create a key through the CLI; its plain value and id."""
    result = admin(*cloud.args(), "keys", "create", "--label", label, "--credits", credits, *extra)
    assert result.code == 0, result.err
    return plain_of(result.out), field_of(result.out, "key_id")


# --- create -----------------------------------------------------------------------------------


def test_create_prints_the_key_once_and_stores_only_its_hash(
    admin: Admin, cloud: Cloud, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="vegart_admin"):
        result = admin(*cloud.args(), "keys", "create", "--label", "acme", "--credits", "50")

    assert result.code == 0
    plain = plain_of(result.out)
    assert plain.startswith("vg_")
    assert result.out.count(plain) == 1
    assert plain not in result.err
    # The key on a line of its own, the reminder right under it, then the record.
    first, second, blank, *_ = result.out.splitlines()
    assert first == f"api_key: {plain}"
    assert second == "Store this key now: it is not kept anywhere and cannot be shown again."
    assert blank == ""
    assert plain not in caplog.text
    stored_id = field_of(result.out, "key_id")
    assert stored_id == key_id(plain)
    assert field_of(result.out, "credits") == "50"
    assert field_of(result.out, "status") == "active"
    assert field_of(result.out, "hint") == plain[-4:]

    assert plain not in cloud.raw()
    [item] = cloud.items()
    assert item["key_id"]["S"] == stored_id
    [api_key] = cloud.api_keys()
    assert api_key["value"] == stored_id
    assert api_key["enabled"] is True
    assert api_key["name"] == f"vegart-acme-{stored_id[:12]}"
    assert item["api_key_id"]["S"] == api_key["id"]
    assert field_of(result.out, "api_key_id") == api_key["id"]

    # Nothing else shows the plain key again.
    for verb in (["list"], ["list", "--json"], ["show", stored_id], ["show", stored_id, "--json"]):
        again = admin(*cloud.args(), "keys", *verb)
        assert again.code == 0
        assert plain not in again.out + again.err


def test_create_without_rate_joins_the_default_plan_and_records_its_throttle(
    admin: Admin, cloud: Cloud
) -> None:
    _, made = create(admin, cloud)

    [api_key] = cloud.api_keys()
    assert cloud.plan_key_ids(cloud.plan_id) == {api_key["id"]}
    assert len(cloud.plans()) == 1
    record = KeyRecord.from_item(cloud.items()[0])
    assert record.key_id == made
    assert (record.rate, record.burst) == (PLAN_RATE, PLAN_BURST)


def test_create_with_rate_and_burst_makes_one_plan_and_reuses_it(
    admin: Admin, cloud: Cloud
) -> None:
    _, first = create(admin, cloud, "--rate", "2.5", "--burst", "4", label="one")
    _, second = create(admin, cloud, "--rate", "2.5", "--burst", "4", label="two")
    _, third = create(admin, cloud, "--rate", "20", "--burst", "40", label="three")

    plans = {plan["name"]: plan for plan in cloud.plans()}
    small = plans[f"{cloud.api_id}-rate-2.5-burst-4"]
    big = plans[f"{cloud.api_id}-rate-20-burst-40"]
    assert len(plans) == 3  # the default plan, and one per distinct throttle
    assert small["throttle"] == {"rateLimit": 2.5, "burstLimit": 4}
    assert small["apiStages"] == [{"apiId": cloud.api_id, "stage": STAGE}]
    by_value = {key["value"]: key["id"] for key in cloud.api_keys()}
    assert cloud.plan_key_ids(small["id"]) == {by_value[first], by_value[second]}
    assert cloud.plan_key_ids(big["id"]) == {by_value[third]}
    assert cloud.plan_key_ids(cloud.plan_id) == set()
    records = {record.key_id: record for record in map(KeyRecord.from_item, cloud.items())}
    assert (records[first].rate, records[first].burst) == (2.5, 4)
    assert (records[third].rate, records[third].burst) == (20.0, 40)


def test_create_with_only_a_burst_takes_the_rate_of_the_default_plan(
    admin: Admin, cloud: Cloud
) -> None:
    _, made = create(admin, cloud, "--burst", "30")

    names = {plan["name"] for plan in cloud.plans()}
    assert f"{cloud.api_id}-rate-7-burst-30" in names
    record = KeyRecord.from_item(cloud.items()[0])
    assert record.key_id == made
    assert (record.rate, record.burst) == (PLAN_RATE, 30)


def test_create_with_the_default_throttle_joins_the_default_plan(
    admin: Admin, cloud: Cloud
) -> None:
    create(admin, cloud, "--rate", str(PLAN_RATE), "--burst", str(PLAN_BURST))

    assert len(cloud.plans()) == 1
    assert cloud.plan_key_ids(cloud.plan_id) == {cloud.api_keys()[0]["id"]}


def test_create_adds_the_stage_to_a_named_plan_that_lacks_it(admin: Admin, cloud: Cloud) -> None:
    existing = cloud.apigw.create_usage_plan(
        name=f"{cloud.api_id}-rate-3-burst-6", throttle={"rateLimit": 3.0, "burstLimit": 6}
    )["id"]

    create(admin, cloud, "--rate", "3", "--burst", "6")

    plan = cloud.apigw.get_usage_plan(usagePlanId=existing)
    assert plan["apiStages"] == [{"apiId": cloud.api_id, "stage": STAGE}]
    assert len(cloud.plans()) == 2


def test_create_refuses_a_named_plan_with_another_throttle(admin: Admin, cloud: Cloud) -> None:
    cloud.apigw.create_usage_plan(
        name=f"{cloud.api_id}-rate-3-burst-6", throttle={"rateLimit": 9.0, "burstLimit": 6}
    )

    result = admin(*cloud.args(), "keys", "create", "--label", "x", "--credits", "1",
                   "--rate", "3", "--burst", "6")  # fmt: skip

    assert result.code == 1
    assert "fix or rename it" in result.err
    assert cloud.items() == []
    assert cloud.api_keys() == []


def test_create_json_carries_the_key_and_the_record(admin: Admin, cloud: Cloud) -> None:
    result = admin(*cloud.args(), "keys", "create", "--label", "acme", "--credits", "5", "--json")

    assert result.code == 0
    answer = json.loads(result.out)
    assert answer["key"]["key_id"] == key_id(answer["api_key"])
    assert answer["key"]["credits"] == 5
    assert answer["key"]["models"] == ["segmind-vega-rt-v1"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--credits", "-1"], "credits cannot be negative"),
        (["--credits", "1", "--rate", "0"], "rate must be above 0"),
        (["--credits", "1", "--rate", "nan"], "rate must be a finite number"),
        (["--credits", "1", "--burst", "0"], "burst at least 1"),
        (["--credits", "1", "--models", "sdxl"], "models must be some of"),
    ],
)
def test_create_rejects_bad_values_before_making_anything(
    admin: Admin, cloud: Cloud, extra: list[str], message: str
) -> None:
    result = admin(*cloud.args(), "keys", "create", "--label", "acme", *extra)

    assert result.code == 2
    assert message in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert cloud.items() == []
    assert cloud.api_keys() == []
    assert len(cloud.plans()) == 1


def test_create_needs_a_default_plan_or_a_rate(admin: Admin, cloud: Cloud) -> None:
    result = admin("--table", TABLE, "--api-id", cloud.api_id, "--stage", STAGE,
                   "keys", "create", "--label", "acme", "--credits", "1")  # fmt: skip

    assert result.code == 2
    assert "no default usage plan" in result.err
    assert cloud.api_keys() == []


# --- list and show ----------------------------------------------------------------------------


def test_list_shows_a_table_and_json(admin: Admin, cloud: Cloud) -> None:
    _, first = create(admin, cloud, label="first customer")
    _, second = create(admin, cloud, label="second", credits="7")

    table = admin(*cloud.args(), "keys", "list")
    assert table.code == 0
    lines = table.out.splitlines()
    assert lines[0].split()[:3] == ["KEY", "ID", "LABEL"]
    assert len(lines) == 3
    assert any(line.startswith(first[:16]) and "first customer" in line for line in lines)
    assert any(line.startswith(second[:16]) and " 7 " in line for line in lines)

    as_json = admin(*cloud.args(), "keys", "list", "--json")
    listed = {entry["key_id"]: entry for entry in json.loads(as_json.out)}
    assert set(listed) == {first, second}
    assert listed[second]["credits"] == 7


def test_list_of_no_keys(admin: Admin, cloud: Cloud) -> None:
    result = admin(*cloud.args(), "keys", "list")

    assert result.code == 0
    assert result.out.strip() == "(no keys)"


def test_show_by_full_id_and_by_prefix(admin: Admin, cloud: Cloud) -> None:
    _, made = create(admin, cloud)

    for ref in (made, made[:8], made[:20], made[:12].upper()):
        result = admin(*cloud.args(), "keys", "show", ref)
        assert result.code == 0, ref
        assert field_of(result.out, "key_id") == made

    as_json = admin(*cloud.args(), "keys", "show", made[:10], "--json")
    assert json.loads(as_json.out)["key_id"] == made


def _stored(cloud: Cloud, key_hash: str, label: str) -> None:
    """A record with a chosen id, so that two ids can share a prefix."""
    store = KeyStore(TABLE, lambda: cloud.dynamodb)
    store.add(KeyRecord(key_id=key_hash, label=label, credits=1))


def test_prefix_resolution_errors(admin: Admin, cloud: Cloud) -> None:
    _stored(cloud, "deadbeef01" + "0" * 54, "one")
    _stored(cloud, "deadbeef02" + "0" * 54, "two")

    ambiguous = admin(*cloud.args(), "keys", "show", "deadbeef")
    assert ambiguous.code == 1
    assert "2 keys start with deadbeef" in ambiguous.err

    assert admin(*cloud.args(), "keys", "show", "deadbeef01").code == 0

    short = admin(*cloud.args(), "keys", "show", "deadbee")
    assert short.code == 2
    assert "at least 8" in short.err

    unknown = admin(*cloud.args(), "keys", "show", "cafebabe")
    assert unknown.code == 1
    assert "no key with id cafebabe" in unknown.err

    not_hex = admin(*cloud.args(), "keys", "show", "not-a-key-id-at-all")
    assert not_hex.code == 2
    assert "not-a-key-id" not in not_hex.err

    plain = "vg_" + "s" * 40
    unknown_plain = admin(*cloud.args(), "keys", "show", plain)
    assert unknown_plain.code == 1
    assert unknown_plain.err == "vegart-admin: error: no key matches that key or id\n"


@pytest.mark.parametrize(
    "verb",
    [["show"], ["disable"], ["enable"], ["top-up", "--credits", "5"], ["delete", "--yes"]],
)
def test_an_unknown_key_is_a_clean_error(admin: Admin, cloud: Cloud, verb: list[str]) -> None:
    missing_plain = "vg_" + "m" * 40
    missing = key_id(missing_plain)

    result = admin(*cloud.args(), "keys", verb[0], missing, *verb[1:])
    assert result.code == 1
    assert result.out == ""
    assert result.err.strip() == f"vegart-admin: error: no key with id {missing[:16]}"

    by_plain = admin(*cloud.args(), "keys", verb[0], missing_plain, *verb[1:])
    assert by_plain.code == 1
    assert by_plain.out == ""
    assert by_plain.err.strip() == "vegart-admin: error: no key matches that key or id"


@pytest.mark.parametrize(
    "verb",
    [["show"], ["disable"], ["enable"], ["top-up", "--credits", "5"], ["delete", "--yes"]],
)
@pytest.mark.parametrize("given", ["argument", "stdin"])
def test_the_plain_key_names_its_key_in_every_verb(
    admin: Admin, cloud: Cloud, monkeypatch: pytest.MonkeyPatch, verb: list[str], given: str
) -> None:
    """An operator revoking a leaked key holds the key itself, not its id."""
    plain, made = create(admin, cloud)
    if given == "stdin":
        monkeypatch.setattr("sys.stdin", io.StringIO(plain + "\n"))
    ref = plain if given == "argument" else "-"

    result = admin(*cloud.args(), "keys", verb[0], ref, *verb[1:])

    assert result.code == 0, result.err
    assert plain not in result.out + result.err
    if verb[0] == "delete":
        assert result.out == f"deleted {made} (acme)\n"
        assert cloud.items() == []
    else:
        assert field_of(result.out, "key_id") == made
    if verb[0] == "disable":
        assert KeyRecord.from_item(cloud.items()[0]).status == "disabled"
        assert cloud.api_keys()[0]["enabled"] is False


def test_an_empty_stdin_for_the_key_is_a_usage_error(
    admin: Admin, cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    create(admin, cloud)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    result = admin(*cloud.args(), "keys", "disable", "-")
    assert result.code == 2
    assert "standard input" in result.err


# --- disable, enable, top-up, delete ---------------------------------------------------------


def test_disable_and_enable_flip_the_item_and_the_api_key(admin: Admin, cloud: Cloud) -> None:
    _, made = create(admin, cloud)

    disabled = admin(*cloud.args(), "keys", "disable", made[:8])
    assert disabled.code == 0
    assert field_of(disabled.out, "status") == "disabled"
    assert KeyRecord.from_item(cloud.items()[0]).status == "disabled"
    assert cloud.api_keys()[0]["enabled"] is False

    enabled = admin(*cloud.args(), "keys", "enable", made[:8], "--json")
    assert enabled.code == 0
    assert json.loads(enabled.out)["status"] == "active"
    assert KeyRecord.from_item(cloud.items()[0]).status == "active"
    assert cloud.api_keys()[0]["enabled"] is True


def test_disable_in_table_only_mode_still_flips_the_api_key(admin: Admin, cloud: Cloud) -> None:
    _, made = create(admin, cloud)

    result = admin("--table", TABLE, "keys", "disable", made)

    assert result.code == 0
    assert cloud.api_keys()[0]["enabled"] is False


def test_disable_warns_when_the_api_key_is_gone(admin: Admin, cloud: Cloud) -> None:
    _, made = create(admin, cloud)
    cloud.apigw.delete_api_key(apiKey=cloud.api_keys()[0]["id"])

    result = admin(*cloud.args(), "keys", "disable", made)

    assert result.code == 0
    assert "warning: API Gateway key" in result.err
    assert KeyRecord.from_item(cloud.items()[0]).status == "disabled"


def test_top_up_adds_credits(admin: Admin, cloud: Cloud) -> None:
    _, made = create(admin, cloud, credits="10")

    result = admin(*cloud.args(), "keys", "top-up", made[:9], "--credits", "15")

    assert result.code == 0
    assert field_of(result.out, "credits") == "25"
    assert KeyRecord.from_item(cloud.items()[0]).credits == 25


@pytest.mark.parametrize("credits", ["0", "-5"])
def test_top_up_refuses_nothing_or_less(admin: Admin, cloud: Cloud, credits: str) -> None:
    _, made = create(admin, cloud, credits="10")

    result = admin(*cloud.args(), "keys", "top-up", made, "--credits", credits)

    assert result.code == 2
    assert "at least one credit" in result.err
    assert KeyRecord.from_item(cloud.items()[0]).credits == 10


def test_delete_removes_the_item_and_the_api_key(admin: Admin, cloud: Cloud) -> None:
    _, kept = create(admin, cloud, label="kept")
    _, made = create(admin, cloud, label="gone")

    result = admin(*cloud.args(), "keys", "delete", made[:8], "--yes")

    assert result.code == 0
    assert made in result.out
    assert [item["key_id"]["S"] for item in cloud.items()] == [kept]
    assert [key["value"] for key in cloud.api_keys()] == [kept]


def test_delete_removes_a_rate_plan_once_its_last_key_is_gone(admin: Admin, cloud: Cloud) -> None:
    _, first = create(admin, cloud, "--rate", "2.5", "--burst", "4", label="one")
    _, second = create(admin, cloud, "--rate", "2.5", "--burst", "4", label="two")
    name = f"{cloud.api_id}-rate-2.5-burst-4"

    assert admin(*cloud.args(), "keys", "delete", first, "--yes").code == 0
    assert name in {plan["name"] for plan in cloud.plans()}  # still used by the second key

    assert admin(*cloud.args(), "keys", "delete", second, "--yes").code == 0
    assert name not in {plan["name"] for plan in cloud.plans()}
    assert cloud.plan_id in {plan["id"] for plan in cloud.plans()}  # the default plan stays


def test_delete_leaves_the_default_plan_and_plans_made_by_hand(admin: Admin, cloud: Cloud) -> None:
    by_hand = cloud.apigw.create_usage_plan(
        name="partner-plan", throttle={"rateLimit": 1.0, "burstLimit": 1}
    )
    _, made = create(admin, cloud)
    key = next(k for k in cloud.api_keys() if k["value"] == made)
    cloud.apigw.create_usage_plan_key(usagePlanId=by_hand["id"], keyId=key["id"], keyType="API_KEY")

    assert admin(*cloud.args(), "keys", "delete", made, "--yes").code == 0
    assert {cloud.plan_id, by_hand["id"]} <= {plan["id"] for plan in cloud.plans()}


def test_delete_asks_first(admin: Admin, cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    _, made = create(admin, cloud)

    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    refused = admin(*cloud.args(), "keys", "delete", made)
    assert refused.code == 1
    assert "Delete key" in refused.err
    assert "not deleted" in refused.err
    assert len(cloud.items()) == 1
    assert len(cloud.api_keys()) == 1

    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # no terminal, no answer: no
    assert admin(*cloud.args(), "keys", "delete", made).code == 1
    assert len(cloud.items()) == 1

    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    accepted = admin(*cloud.args(), "keys", "delete", made)
    assert accepted.code == 0
    assert cloud.items() == []
    assert cloud.api_keys() == []


# --- naming the deployment --------------------------------------------------------------------

_STACK_TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
}


def _stack(cloud: Cloud, name: str, **outputs: str) -> None:
    template = dict(_STACK_TEMPLATE)
    template["Outputs"] = {key: {"Value": value} for key, value in outputs.items()}
    boto3.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))


def _full_stack(cloud: Cloud, name: str = "vegart-prod") -> None:
    _stack(
        cloud,
        name,
        KeysTableName=TABLE,
        ApiId=cloud.api_id,
        StageName=STAGE,
        DefaultUsagePlanId=cloud.plan_id,
    )


def test_stack_discovery(admin: Admin, cloud: Cloud) -> None:
    _full_stack(cloud)

    result = admin("--stack", "vegart-prod", "keys", "create", "--label", "a", "--credits", "1")
    assert result.code == 0, result.err
    assert cloud.plan_key_ids(cloud.plan_id) == {cloud.api_keys()[0]["id"]}

    custom = admin("--stack", "vegart-prod", "keys", "create", "--label", "b", "--credits", "1",
                   "--rate", "1", "--burst", "2")  # fmt: skip
    assert custom.code == 0, custom.err
    assert "vegart-prod-rate-1-burst-2" in {plan["name"] for plan in cloud.plans()}

    listed = admin("--stack", "vegart-prod", "keys", "list", "--json")
    assert len(json.loads(listed.out)) == 2


def test_explicit_options_override_the_stack(admin: Admin, cloud: Cloud) -> None:
    other_api = create_api(cloud.apigw, "other-api")
    other_plan = cloud.apigw.create_usage_plan(
        name="other-default",
        throttle={"rateLimit": 1.0, "burstLimit": 1},
        apiStages=[{"apiId": other_api, "stage": STAGE}],
    )["id"]
    _stack(
        cloud,
        "vegart-stale",
        KeysTableName="no-such-table",
        ApiId=other_api,
        StageName=STAGE,
        DefaultUsagePlanId=other_plan,
    )

    result = admin("--stack", "vegart-stale", "--table", TABLE, "--default-plan", cloud.plan_id,
                   "keys", "create", "--label", "a", "--credits", "1")  # fmt: skip

    assert result.code == 0, result.err
    assert len(cloud.items()) == 1
    assert cloud.plan_key_ids(cloud.plan_id) == {cloud.api_keys()[0]["id"]}
    assert cloud.plan_key_ids(other_plan) == set()


def test_a_stack_without_a_table_output_needs_table(admin: Admin, cloud: Cloud) -> None:
    _stack(cloud, "vegart-bare", ApiId=cloud.api_id)

    result = admin("--stack", "vegart-bare", "keys", "list")

    assert result.code == 2
    assert "no KeysTableName output" in result.err


def test_an_unknown_stack_is_one_line(admin: Admin, cloud: Cloud) -> None:
    result = admin("--stack", "no-such-stack", "keys", "list")

    assert result.code == 1
    assert result.err.count("\n") == 1
    assert "DescribeStacks" in result.err


def test_a_deployment_must_be_named(admin: Admin, cloud: Cloud) -> None:
    result = admin("keys", "list")

    assert result.code == 2
    assert "--stack NAME or --table T" in result.err


def test_table_only_mode_warns_and_stores_the_key(admin: Admin, cloud: Cloud) -> None:
    result = admin("--table", TABLE, "keys", "create", "--label", "local", "--credits", "3")

    assert result.code == 0
    assert "warning: no API Gateway API is known" in result.err
    assert cloud.api_keys() == []
    record = KeyRecord.from_item(cloud.items()[0])
    assert record.key_id == key_id(plain_of(result.out))
    assert (record.rate, record.burst) == (DEFAULT_RATE, DEFAULT_BURST)
    assert record.api_key_id == ""

    custom = admin("--table", TABLE, "keys", "create", "--label", "l", "--credits", "1",
                   "--rate", "2", "--burst", "3")  # fmt: skip
    assert custom.code == 0
    assert len(cloud.plans()) == 1


def test_an_aws_error_is_one_line(admin: Admin, cloud: Cloud) -> None:
    result = admin("--table", "no-such-table", "keys", "list")

    assert result.code == 1
    assert result.err.count("\n") == 1
    assert "ResourceNotFoundException" in result.err


def test_help_exits_cleanly(admin: Admin) -> None:
    result = admin("--help")

    assert result.code == 0
    assert "keys" in result.out


# --- rotate-webhook-secret ------------------------------------------------------------------


def test_rotate_webhook_secret_keeps_the_old_one_signing_for_the_grace(
    admin: Admin, cloud: Cloud
) -> None:
    plain, made = create(admin, cloud)
    secrets = WebhookSecrets(TABLE, lambda: boto3.client("dynamodb"))
    before = secrets.get(made)

    result = admin(*cloud.args(), "keys", "rotate-webhook-secret", plain, "--grace-hours", "2")

    assert result.code == 0, result.err
    assert result.out.startswith("rotated; the old secret also signs until ")
    after = secrets.get(made)
    assert after.current != before.current
    assert after.previous == before.current
    assert after.signing(after.previous_until - 1) == [after.current, before.current]
    # Neither secret is printed: the key's owner reads the new one from the API.
    for secret in (before.current, after.current):
        assert secret not in result.out + result.err


def test_rotate_webhook_secret_refuses_a_grace_out_of_range(admin: Admin, cloud: Cloud) -> None:
    _, made = create(admin, cloud)
    result = admin(*cloud.args(), "keys", "rotate-webhook-secret", made, "--grace-hours", "-1")
    assert result.code == 2
    assert "grace" in result.err
