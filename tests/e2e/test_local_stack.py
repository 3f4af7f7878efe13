"""End to end over HTTP: the local stack, as a client of the deployed API would use it.

Every status of the contract is reached the way a real client reaches it: keys missing, empty,
unknown, disabled or throttled (made with ``vegart-admin``), bad fields, an unknown path, and
each backend failure queued in the mock behind the gateway.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from typing import Any

import pytest
import requests
from PIL import Image
from segmind import SegmindClient
from segmind.exceptions import SegmindError

from devkit.functions import ROOT
from devkit.stack_process import RunningStack, admin
from mock_server import render_jpeg

SEED_PAGE = ROOT.parent / "shared" / "seeds" / "segmind-vega-rt-v1.txt"
PROMPT = "a lighthouse at dusk, oil on canvas"


def post(stack: RunningStack, body: Any = None, *, key: str | None = "demo", **kw: Any):
    headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
    if key is not None:
        headers["x-api-key"] = stack.api_key if key == "demo" else key
    data = body if isinstance(body, bytes) else json.dumps(body or {"prompt": PROMPT})
    return requests.post(stack.render_url, data=data, headers=headers, timeout=30, **kw)


def renders(stack: RunningStack) -> int:
    """Render requests the mock Segmind received since its reset."""
    return sum(1 for entry in stack.mock.requests() if entry.get("method") == "POST")


def seed_snippet() -> str:
    """The Python snippet of Segmind's page, up to and including its request."""
    text = SEED_PAGE.read_text(encoding="utf-8")
    start = text.index("import requests")
    lines = []
    for line in text[start:].splitlines():
        lines.append(re.sub(r"^\d+", "", line, count=1) if lines else line)
        if "requests.post(" in line:
            break
    return "\n".join(lines)


def test_the_seed_pages_snippet_renders_then_hits_the_cache(stack: RunningStack) -> None:
    # The published snippet writes JSON's `false` in Python; that, the URL and the key are
    # all that change.
    code = seed_snippet()
    code = code.replace("https://api.segmind.com/v1/segmind-vega-rt-v1", stack.render_url)
    code = code.replace("YOUR_API_KEY", stack.api_key).replace(": false", ": False")
    first: dict[str, Any] = {}
    exec(compile(code, "seed-snippet", "exec"), first)
    response = first["response"]
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert Image.open(__import__("io").BytesIO(response.content)).size == (1024, 1024)
    assert response.headers["x-cache"] == "MISS"
    assert response.headers["x-seed-value"] == "758143278"
    again: dict[str, Any] = {}
    exec(compile(code, "seed-snippet", "exec"), again)
    assert again["response"].headers["x-cache"] == "HIT"
    assert again["response"].content == response.content
    assert renders(stack) == 1


@pytest.mark.parametrize(
    "accept",
    [None, "image/jpeg", "image/*", "*/*", "application/json, text/plain, */*"],
)
def test_raw_bytes_for_every_accept_of_the_contract(
    stack: RunningStack, accept: str | None
) -> None:
    headers = {"Accept": accept} if accept else {}
    response = post(stack, {"prompt": PROMPT, "seed": 5}, headers=headers)
    assert response.status_code == 200
    assert response.content[:2] == b"\xff\xd8"
    assert response.content == render_jpeg(PROMPT, 5, 4)


def test_base64_json(stack: RunningStack) -> None:
    response = post(stack, {"prompt": PROMPT, "seed": 6, "base64": True})
    assert response.status_code == 200
    body = response.json()
    assert base64.b64decode(body["image"]) == render_jpeg(PROMPT, 6, 4)
    assert int(response.headers["x-remaining-credits"]) >= 0


def test_the_segmind_sdk(stack: RunningStack) -> None:
    client = SegmindClient(api_key=stack.api_key, base_url=stack.base_url, timeout=30)
    response = client.run_sync("segmind-vega-rt-v1", prompt=PROMPT, seed=9)
    assert response.status_code == 200
    assert response.content == render_jpeg(PROMPT, 9, 4)
    assert response.headers["x-seed-value"] == "9"
    stranger = SegmindClient(api_key="vg_wrong-key-0000000000000", base_url=stack.base_url)
    with pytest.raises(SegmindError) as raised:
        stranger.run_sync("segmind-vega-rt-v1", prompt=PROMPT)
    assert raised.value.status == 401


@pytest.mark.parametrize(
    ("key", "status"),
    [(None, 401), ("", 401), ("vg_nobody-has-this-key-00000000", 401)],
)
def test_key_errors(stack: RunningStack, key: str | None, status: int) -> None:
    response = post(stack, key=key)
    assert response.status_code == status
    assert set(response.json()) == {"error"}
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert renders(stack) == 0


def test_a_disabled_key_is_403_and_a_poor_key_406(stack: RunningStack) -> None:
    made = admin(stack, "keys", "create", "--label", "e2e", "--credits", "1", "--json")
    created = json.loads(made)
    key, key_id = created["api_key"], created["key"]["key_id"]
    assert post(stack, {"prompt": "first"}, key=key).status_code == 200
    poor = post(stack, {"prompt": "second"}, key=key)
    assert (poor.status_code, poor.json()) == (406, {"error": "Insufficient credits"})
    admin(stack, "keys", "disable", key_id)
    # The authorizer's cached answer lets it reach the function, which refuses at once.
    assert post(stack, {"prompt": "third"}, key=key).status_code == 403


def test_a_key_over_its_rate_is_429_with_retry_after(stack: RunningStack) -> None:
    made = admin(
        stack,
        "keys",
        "create",
        "--label",
        "slow",
        "--credits",
        "50",
        "--rate",
        "0.5",
        "--burst",
        "2",
        "--json",
    )
    key = json.loads(made)["api_key"]
    statuses = [post(stack, {"prompt": PROMPT, "seed": 11}, key=key) for _ in range(4)]
    assert [r.status_code for r in statuses[:2]] == [200, 200]
    throttled = statuses[-1]
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "1"
    assert set(throttled.json()) == {"error"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": PROMPT, "num_inference_steps": 11}, "num_inference_steps"),
        ({"prompt": PROMPT, "img_width": 512}, "img_width"),
        ({"prompt": PROMPT, "seed": "x"}, "seed"),
        (b"{not json", "JSON"),
    ],
)
def test_bad_fields_are_400_naming_the_field(stack: RunningStack, body: Any, field: str) -> None:
    response = post(stack, body)
    assert response.status_code == 400
    assert field in response.json()["error"]


def test_an_unknown_path_is_404(stack: RunningStack) -> None:
    response = requests.post(
        f"{stack.base_url}/no-such-model",
        json={"prompt": PROMPT},
        headers={"x-api-key": stack.api_key},
        timeout=10,
    )
    assert (response.status_code, response.json()) == (404, {"error": "Not found"})


@pytest.mark.parametrize(
    ("entry", "status"),
    [
        ({"status": 400}, 400),
        ({"status": 401}, 502),
        ({"status": 404}, 502),
        ({"status": 406}, 502),
        ({"status": 429, "times": 50}, 429),
        ({"status": 500, "times": 50}, 502),
        ({"fault": "connection_reset", "times": 50}, 502),
        ({"fault": "truncated_body", "times": 50}, 502),
        ({"status": 504}, 504),
    ],
)
def test_each_backend_failure(stack: RunningStack, entry: dict[str, Any], status: int) -> None:
    stack.mock.enqueue(entry)
    before = json.loads(admin(stack, "keys", "list", "--json"))
    response = post(stack, {"prompt": f"failure {entry}", "seed": 3})
    assert response.status_code == status
    assert set(response.json()) == {"error"}
    after = json.loads(admin(stack, "keys", "list", "--json"))
    # A failed render is refunded: every key's balance is as it was.
    assert {k["key_id"]: k["credits"] for k in before} == {k["key_id"]: k["credits"] for k in after}


def test_the_preflight(stack: RunningStack) -> None:
    response = requests.options(
        stack.render_url,
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-key,content-type",
        },
        timeout=10,
    )
    assert response.status_code == 204
    assert "x-api-key" in response.headers["Access-Control-Allow-Headers"].lower()
    assert "x-remaining-credits" in response.headers["Access-Control-Expose-Headers"]


def test_thirty_two_identical_requests_at_once_make_one_render(stack: RunningStack) -> None:
    made = json.loads(
        admin(
            stack,
            "keys",
            "create",
            "--label",
            "burst",
            "--credits",
            "100",
            "--rate",
            "1000",
            "--burst",
            "100",
            "--json",
        )
    )
    key, key_id = made["api_key"], made["key"]["key_id"]
    stack.mock.enqueue({"delay_ms": 1500})  # the first render is slow: the rest arrive meanwhile
    body = {"prompt": "thirty-two at once", "seed": 32}
    start = threading.Barrier(32)
    answers: list[requests.Response] = []

    def client() -> None:
        start.wait()
        answers.append(post(stack, body, key=key))

    threads = [threading.Thread(target=client) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200] * 32
    assert {a.content for a in answers} == {render_jpeg("thirty-two at once", 32, 4)}
    assert renders(stack) == 1
    (record,) = [
        k for k in json.loads(admin(stack, "keys", "list", "--json")) if k["key_id"] == key_id
    ]
    assert record["credits"] == 99
