"""Credits through the render function: debit on a render, none on a hit, refund on failure.

AWS is moto (the keys table as the template defines it), Segmind is ``responses``.
"""

from __future__ import annotations

import threading
from collections import Counter
from types import ModuleType
from typing import Any

import pytest
import responses

from devkit.context import still_context
from devkit.events import api_event, header, response_json
from devkit.moto import add_key
from vegart.keys import DISABLED, KeyStore

URL = "https://api.segmind.test/v1/segmind-vega-rt-v1"
RICH_KEY = "vg_rich-key-00000000000000000"
POOR_KEY = "vg_poor-key-00000000000000000"


def render(fn: ModuleType, key_id: str | None, prompt: str = "a fox", **fields: Any) -> dict:
    event = api_event({"prompt": prompt, "seed": 7, **fields}, key_id=key_id)
    return fn.lambda_handler(event, still_context())


def balance(keys: KeyStore, key_id: str) -> int:
    return keys.require(key_id).credits


def test_a_render_costs_one_credit_and_says_what_is_left(
    fn: ModuleType, keys: KeyStore, segmind: responses.RequestsMock
) -> None:
    key_id = add_key(keys, RICH_KEY, 5)
    response = render(fn, key_id)
    assert response["statusCode"] == 200
    assert header(response, "x-remaining-credits") == "4"
    assert balance(keys, key_id) == 4
    assert keys.require(key_id).last_used_at


def test_a_cache_hit_costs_nothing_and_still_reports_the_balance(
    fn: ModuleType, keys: KeyStore, segmind: responses.RequestsMock
) -> None:
    key_id = add_key(keys, RICH_KEY, 5)
    render(fn, key_id)
    again = render(fn, key_id)
    assert header(again, "x-cache") == "HIT"
    assert header(again, "x-remaining-credits") == "4"
    assert balance(keys, key_id) == 4
    assert len(segmind.calls) == 1


def test_the_base64_shape_reports_the_balance_too(
    fn: ModuleType, keys: KeyStore, segmind: responses.RequestsMock
) -> None:
    key_id = add_key(keys, RICH_KEY, 2)
    response = render(fn, key_id, base64=True)
    assert response["statusCode"] == 200
    assert header(response, "x-remaining-credits") == "1"


def test_no_credits_is_406_and_no_backend_call(
    fn: ModuleType, keys: KeyStore, segmind: responses.RequestsMock
) -> None:
    key_id = add_key(keys, POOR_KEY, 0)
    response = render(fn, key_id)
    assert response["statusCode"] == 406
    assert response_json(response) == {"error": "Insufficient credits"}
    assert not segmind.calls
    assert balance(keys, key_id) == 0


def test_the_last_credit_is_spent_once(
    fn: ModuleType, keys: KeyStore, segmind: responses.RequestsMock
) -> None:
    key_id = add_key(keys, POOR_KEY, 1)
    assert render(fn, key_id, prompt="one")["statusCode"] == 200
    assert render(fn, key_id, prompt="two")["statusCode"] == 406
    # A hit on what it already paid for is still served.
    hit = render(fn, key_id, prompt="one")
    assert (hit["statusCode"], header(hit, "x-remaining-credits")) == (200, "0")


@pytest.mark.parametrize(
    ("upstream", "status"),
    [
        (responses.Response(responses.POST, URL, status=400, json={"error": "bad"}), 400),
        (responses.Response(responses.POST, URL, status=500, json={"error": "x"}), 502),
        (responses.Response(responses.POST, URL, status=200, body=b"not a jpeg"), 502),
        (responses.Response(responses.POST, URL, status=401, json={"error": "x"}), 502),
    ],
)
def test_a_failed_render_is_refunded(
    fn: ModuleType, keys: KeyStore, upstream: responses.Response, status: int
) -> None:
    key_id = add_key(keys, RICH_KEY, 3)
    with responses.RequestsMock() as mock:
        mock.add(upstream)
        response = render(fn, key_id)
    assert response["statusCode"] == status
    assert header(response, "x-remaining-credits") is None
    assert balance(keys, key_id) == 3


def test_a_disabled_key_is_not_debited(
    fn: ModuleType, keys: KeyStore, segmind: responses.RequestsMock
) -> None:
    # The authorizer's answer is cached: a key disabled since is still stopped here.
    key_id = add_key(keys, RICH_KEY, 3)
    keys.update(key_id, status=DISABLED)
    response = render(fn, key_id)
    assert response["statusCode"] == 403
    assert balance(keys, key_id) == 3
    assert not segmind.calls


def test_a_deleted_key_is_401(
    fn: ModuleType, keys: KeyStore, segmind: responses.RequestsMock
) -> None:
    key_id = add_key(keys, RICH_KEY, 3)
    keys.delete(key_id)
    assert render(fn, key_id)["statusCode"] == 401
    assert keys.get(key_id) is None  # a refund or balance never brings it back


def test_a_request_that_did_not_pass_the_authorizer_is_401(
    fn: ModuleType, segmind: responses.RequestsMock
) -> None:
    response = render(fn, None)
    assert response["statusCode"] == 401
    assert not segmind.calls


def test_the_ledger_being_down_is_500_and_nothing_is_rendered(
    fn: ModuleType, keys: KeyStore, segmind: responses.RequestsMock, aws: dict[str, Any]
) -> None:
    key_id = add_key(keys, RICH_KEY, 3)
    keys._client().delete_table(TableName=aws["keys_table"])
    response = render(fn, key_id)
    assert response["statusCode"] == 500
    assert "credit" in response_json(response)["error"]
    assert not segmind.calls


def test_fifty_requests_racing_for_ten_credits(
    fn: ModuleType, keys: KeyStore, segmind: responses.RequestsMock
) -> None:
    key_id = add_key(keys, POOR_KEY, 10)
    statuses: list[int] = []
    start = threading.Barrier(50)

    def client(number: int) -> None:
        start.wait()
        statuses.append(render(fn, key_id, prompt=f"prompt {number}")["statusCode"])

    threads = [threading.Thread(target=client, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(statuses) == {200: 10, 406: 40}
    assert len(segmind.calls) == 10
    assert balance(keys, key_id) == 0
