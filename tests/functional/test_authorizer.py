"""The REQUEST authorizer: each answer API Gateway turns into a contract status.

API Gateway's side (401 for the exception, 403 for a Deny, 429 from the usage plan) is checked
on the template's translation in tests/infra; here is what the function returns for each key.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from devkit.context import still_context
from devkit.events import CLIENT_KEY, CLIENT_KEY_ID, key_check_event
from devkit.functions import load_function
from devkit.moto import add_key
from vegart.keys import DISABLED, KeyStore

ARN_PREFIX = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod"
LIMITED_KEY = "vg_limited-key-000000000000000"
#: Every route of the model, v1's render and v2's submit, and the key's own jobs.
MODEL_ROUTES = [
    f"{ARN_PREFIX}/*/v1/segmind-vega-rt-v1",
    f"{ARN_PREFIX}/*/v2/segmind-vega-rt-v1",
    f"{ARN_PREFIX}/*/v2/requests/*",
    f"{ARN_PREFIX}/*/v2/webhooks/default/secret",
]


@pytest.fixture
def fn(aws: dict[str, Any]) -> ModuleType:
    return load_function("authorizer")


def authorize(fn: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    return fn.lambda_handler(event, still_context("vegart-authorizer"))


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return policy["policyDocument"]["Statement"]


def test_an_active_key_is_allowed_every_method_of_its_routes(fn: ModuleType) -> None:
    policy = authorize(fn, key_check_event())
    assert policy["principalId"] == CLIENT_KEY_ID
    assert policy["usageIdentifierKey"] == CLIENT_KEY_ID
    assert policy["context"] == {"keyId": CLIENT_KEY_ID, "label": "local demo"}
    (statement,) = statements(policy)
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "execute-api:Invoke"
    assert statement["Resource"] == MODEL_ROUTES


def test_the_cached_policy_does_not_depend_on_the_method_asked(fn: ModuleType) -> None:
    # API Gateway reuses the answer for every method of the key: it must be the same answer.
    answers = [authorize(fn, key_check_event(method=m)) for m in ("POST", "GET", "DELETE")]
    assert answers[0] == answers[1] == answers[2]


def test_the_header_name_is_case_insensitive(fn: ModuleType) -> None:
    event = key_check_event(None)
    event["headers"]["X-API-Key"] = CLIENT_KEY
    assert statements(authorize(fn, event))[0]["Effect"] == "Allow"


@pytest.mark.parametrize("key", [None, "", "   ", "vg_nobody-has-this-key-000000"])
def test_a_missing_empty_or_unknown_key_raises_unauthorized(fn: ModuleType, key: Any) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(fn, key_check_event(key))


def test_a_disabled_key_is_denied_everywhere(fn: ModuleType, keys: KeyStore) -> None:
    keys.update(CLIENT_KEY_ID, status=DISABLED)
    policy = authorize(fn, key_check_event())
    (statement,) = statements(policy)
    assert statement["Effect"] == "Deny"
    assert statement["Resource"] == [f"{ARN_PREFIX}/*/*"]


def test_a_key_is_allowed_only_the_routes_of_its_models(fn: ModuleType, keys: KeyStore) -> None:
    add_key(keys, LIMITED_KEY, 5)
    allowed = statements(authorize(fn, key_check_event(LIMITED_KEY)))
    assert [s["Resource"] for s in allowed] == [MODEL_ROUTES]
    # Another model's route is outside the policy: API Gateway answers it 403.
    other = authorize(fn, key_check_event(LIMITED_KEY, path="/v1/another-model"))
    assert all("another-model" not in r for s in statements(other) for r in s["Resource"])


def test_the_keys_table_being_down_lets_nothing_through(
    fn: ModuleType, keys: KeyStore, aws: dict[str, Any]
) -> None:
    keys._client().delete_table(TableName=aws["keys_table"])
    with pytest.raises(Exception) as raised:  # noqa: PT011 - any error but "Unauthorized"
        authorize(fn, key_check_event())
    # Not "Unauthorized" (a 401 would blame the client): API Gateway answers 500.
    assert str(raised.value) != "Unauthorized"
