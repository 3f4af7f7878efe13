"""No secret and no prompt in the logs (least privilege: tests/infra/test_roles_name_their_own.py).

Both functions run in process (moto for AWS, ``responses`` for Segmind) with the gateway's
logger at DEBUG, through success, refusals and every kind of upstream failure. What Lambda
would write to CloudWatch is collected: the Powertools logger's JSON lines (through its own
formatter, so appended keys such as ``key_id`` are there), stdout and stderr (the metrics'
EMF lines), and every record any logger emits at WARNING or above (what the Lambda runtime
writes by default). Neither a client key nor the Segmind key may appear in it, and a prompt
appears only as its length (the cache's metadata holds its hash, not its text).
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
import requests
import responses

from devkit.clock import no_wait
from devkit.context import still_context
from devkit.deployment import SEGMIND_TEST_KEY
from devkit.events import CLIENT_KEY, api_event, key_check_event
from devkit.functions import load_function
from devkit.moto import add_key
from mock_server import render_jpeg
from tests.helpers.functions import Broken
from vegart.keys import DISABLED, KeyStore, key_id
from vegart.observability import logger

URL = "https://api.segmind.test/v1/segmind-vega-rt-v1"
#: A prompt nobody else sends, so that finding it anywhere means it was logged.
PROMPT = "Kq7-private-prompt: portrait of my neighbour Zebulon Okonkwo-Marsh at 14 Elm Row"
UNKNOWN_KEY = "vg_unknown-key-Xw9rT2mQ4vL8pZ6nB3"
LIMITED_KEY = "vg_limited-key-Hs5dF1gJ7kP0oY2eR9"

Logs = Callable[[], str]


@pytest.fixture
def logs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, caplog: pytest.LogCaptureFixture
) -> Iterator[Logs]:
    """Everything the functions would log, at DEBUG for the gateway's own logger."""
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    previous = logger.log_level
    logger.setLevel("DEBUG")
    # Powertools' own handler holds the stdout of the moment the logger was made, which
    # capsys does not see; a second handler with the same formatter writes the same lines.
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logger.registered_formatter)
    gateway_logger = logging.getLogger(logger.name)
    gateway_logger.addHandler(handler)
    caplog.set_level(logging.DEBUG, logger=logger.name)
    caplog.set_level(logging.WARNING)

    def read() -> str:
        captured = capsys.readouterr()
        return "\n".join([buffer.getvalue(), captured.out, captured.err, caplog.text])

    yield read
    gateway_logger.removeHandler(handler)
    logger.setLevel(previous)


def assert_nothing_secret(text: str, *, prompt: str = PROMPT) -> None:
    for secret, what in (
        (CLIENT_KEY, "the client's key"),
        (UNKNOWN_KEY, "an unknown key"),
        (LIMITED_KEY, "a limited key"),
        (SEGMIND_TEST_KEY, "the Segmind key"),
        (prompt, "the prompt"),
    ):
        assert secret not in text, f"{what} is in the logs"
    # Nor a recognisable part of them (a prefix, a JSON-escaped copy).
    assert CLIENT_KEY[:20] not in text
    assert SEGMIND_TEST_KEY[:12] not in text
    assert prompt[:24] not in text
    assert json.dumps(prompt)[1:-1][:24] not in text


def log_lines(text: str) -> list[dict[str, Any]]:
    """The JSON log lines among the captured text."""
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return lines


def invoke(fn: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    return fn.lambda_handler(event, still_context())


# -- the render function ---------------------------------------------------------------------


def test_a_render_and_a_cache_hit_log_the_prompts_length_only(
    fn: ModuleType, segmind: responses.RequestsMock, logs: Logs
) -> None:
    assert invoke(fn, api_event({"prompt": PROMPT, "seed": 7}))["statusCode"] == 200
    hit = invoke(fn, api_event({"prompt": PROMPT, "seed": 7, "base64": True}))
    assert hit["statusCode"] == 200
    assert segmind.calls[0].request.headers["x-api-key"] == SEGMIND_TEST_KEY
    text = logs()
    assert_nothing_secret(text)
    rendered = [line for line in log_lines(text) if line.get("message") == "Rendered"]
    assert [line["cache"] for line in rendered] == ["MISS", "HIT"]
    for line in rendered:
        # What identifies the request without telling what it was.
        assert line["prompt_length"] == len(PROMPT)
        assert line["key_id"] == key_id(CLIENT_KEY)
        assert re.fullmatch(r"[0-9a-f]{64}", line["key_id"])


@pytest.mark.parametrize(
    "body",
    [
        {"prompt": PROMPT, "num_inference_steps": 99},
        {"prompt": PROMPT, "seed": "7"},
        {"prompt": PROMPT, "base64": "yes"},
        {"prompt": PROMPT * 60},
        [PROMPT],
    ],
    ids=["steps", "seed", "base64", "too-long", "not-an-object"],
)
def test_a_refused_request_logs_no_prompt_or_key(fn: ModuleType, logs: Logs, body: Any) -> None:
    with responses.RequestsMock() as mock:
        response = invoke(fn, api_event(body))
        assert len(mock.calls) == 0
    assert response["statusCode"] == 400
    assert_nothing_secret(logs())


@pytest.mark.parametrize(
    "raw",
    [
        f'{{"prompt": "{PROMPT}", "seed": '.encode(),
        f'{{"prompt": "{PROMPT}"}}'.encode() + b"\xff",
        f"prompt={PROMPT}&seed=1".encode(),
    ],
    ids=["cut-off-json", "invalid-utf8", "form-encoded"],
)
def test_a_body_that_is_not_json_logs_none_of_it(fn: ModuleType, logs: Logs, raw: bytes) -> None:
    response = invoke(fn, api_event(raw_body=raw))
    assert response["statusCode"] == 400
    assert_nothing_secret(logs())


UPSTREAM_FAILURES: dict[str, dict[str, Any]] = {
    # Segmind's 400 is passed to the client; it may quote the prompt, and is not logged.
    "400-quoting-the-prompt": {"json": {"error": f"Bad prompt: {PROMPT}"}, "status": 400},
    "401-account": {"json": {"error": f"Invalid key {SEGMIND_TEST_KEY}"}, "status": 401},
    "403-account": {"json": {"error": "Forbidden"}, "status": 403},
    "406-no-credits": {"json": {"error": "Insufficient credits"}, "status": 406},
    "404": {"json": {"error": "Not found"}, "status": 404},
    "429": {"json": {"error": "slow down"}, "status": 429, "headers": {"Retry-After": "1"}},
    "500": {"json": {"error": f"internal: {PROMPT}"}, "status": 500},
    "503": {"body": "Service Unavailable", "status": 503},
    "504": {"json": {"error": "timeout"}, "status": 504},
    "200-html": {"body": f"<html>{PROMPT}</html>", "status": 200, "content_type": "text/html"},
    "200-cut-off-jpeg": {
        "body": render_jpeg("cut", 1, 4)[:9000],
        "status": 200,
        "content_type": "image/jpeg",
    },
    "connection-refused": {"body": requests.exceptions.ConnectionError("refused")},
    "read-timeout": {"body": requests.exceptions.ReadTimeout("timed out")},
}


#: What the client is answered for each, as the contract's backend table says.
ANSWERED = {
    "400-quoting-the-prompt": 400,
    "401-account": 502,
    "403-account": 502,
    "406-no-credits": 502,
    "404": 502,
    "429": 429,
    "500": 502,
    "503": 502,
    "504": 504,
    "200-html": 502,
    "200-cut-off-jpeg": 502,
    "connection-refused": 502,
    "read-timeout": 504,
}


@pytest.mark.parametrize("upstream", sorted(UPSTREAM_FAILURES))
def test_an_upstream_failure_logs_no_prompt_or_key(
    fn: ModuleType, logs: Logs, upstream: str
) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, URL, **UPSTREAM_FAILURES[upstream])
        response = invoke(fn, api_event({"prompt": PROMPT, "seed": 11}))
        assert mock.calls, "the backend was not called"
        assert mock.calls[0].request.headers["x-api-key"] == SEGMIND_TEST_KEY
    assert response["statusCode"] == ANSWERED[upstream]
    text = logs()
    assert_nothing_secret(text)
    # The capture saw the request's output (its metrics line at least).
    assert '"service":"vegart-gateway"' in text


def test_an_unexpected_fault_logs_no_prompt_or_key(
    fn: ModuleType, logs: Logs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fn.wiring, "render_service", Broken("the render service is broken"))
    response = invoke(fn, api_event({"prompt": PROMPT}))
    assert response["statusCode"] == 500
    text = logs()
    assert "Unexpected error" in text  # logged, with its traceback
    assert_nothing_secret(text)


def test_a_request_that_skipped_the_authorizer_logs_no_key(fn: ModuleType, logs: Logs) -> None:
    response = invoke(fn, api_event({"prompt": PROMPT}, key_id=None))
    assert response["statusCode"] == 401
    assert_nothing_secret(logs())


# -- the authorizer --------------------------------------------------------------------------


@pytest.fixture
def authorizer(aws: dict[str, Any]) -> ModuleType:
    return load_function("authorizer")


def authorize(authorizer: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    return authorizer.lambda_handler(event, still_context("vegart-authorizer"))


def test_the_authorizer_logs_no_key_whatever_it_decides(
    authorizer: ModuleType, keys: KeyStore, logs: Logs
) -> None:
    add_key(keys, LIMITED_KEY, 5, models=("segmind-vega-rt-v1",))
    allowed = authorize(authorizer, key_check_event())
    assert allowed["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    # A model the key may not use.
    authorize(authorizer, key_check_event(LIMITED_KEY, path="/v1/another-model"))
    for key in (UNKNOWN_KEY, "", f"  {UNKNOWN_KEY}  "):
        with pytest.raises(Exception, match=r"^Unauthorized$"):
            authorize(authorizer, key_check_event(key))
    keys.update(key_id(CLIENT_KEY), status=DISABLED)
    denied = authorize(authorizer, key_check_event())
    assert denied["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    text = logs()
    assert_nothing_secret(text)
    messages = {line.get("message") for line in log_lines(text)}
    # The decisions were logged (so the capture saw them), by the key's hash and length only.
    assert {"Unknown API key", "Disabled API key", "Model not allowed for this key"} <= messages
    assert key_id(CLIENT_KEY) in text
    unknown = [line for line in log_lines(text) if line.get("message") == "Unknown API key"]
    assert unknown[0]["key_length"] == len(UNKNOWN_KEY)


def test_the_keys_table_being_down_tells_no_key(
    authorizer: ModuleType, aws: dict[str, Any], keys: KeyStore, logs: Logs
) -> None:
    keys._client().delete_table(TableName=aws["keys_table"])
    with pytest.raises(Exception) as raised:  # noqa: PT011 - whatever the fault, no key in it
        authorize(authorizer, key_check_event())
    # Lambda logs the exception that escapes the handler: it must not quote the key either.
    assert_nothing_secret(f"{logs()}\n{raised.value!r}\n{raised.value}")


# -- least privilege -------------------------------------------------------------------------


def test_full_prompts_are_logged_only_when_the_operator_turns_them_on(
    fn: ModuleType,
    segmind: responses.RequestsMock,
    logs: Logs,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert invoke(fn, api_event({"prompt": PROMPT, "seed": 8}))["statusCode"] == 200
    monkeypatch.setenv("LOG_PROMPTS", "true")
    telling = load_function("render", sleep=no_wait)  # a deployment with LogPrompts=true
    assert invoke(telling, api_event({"prompt": PROMPT, "seed": 9}))["statusCode"] == 200
    rendered = [line for line in log_lines(logs()) if line.get("message") == "Rendered"]
    assert [line.get("prompt") for line in rendered] == [None, PROMPT]
    assert all(len(line["prompt_sha256"]) == 16 for line in rendered)
