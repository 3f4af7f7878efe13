"""Hostile requests through the render function, in process: each gets the contract's answer.

A request that breaks the contract (docs/contract.md) gets a 400 whose body is ``{"error": str}``
and whose message names the problem without quoting the request back; one that keeps it (a
prompt with control characters or markup is still a prompt) is rendered, the prompt passed to
the backend unchanged. No answer is a 500, and no response header carries CR, LF or NUL,
whatever the request's own headers held.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest
import responses

from devkit.clock import no_wait
from devkit.context import still_context
from devkit.events import api_event, header, preflight_event, response_body, response_json
from devkit.functions import load_function
from mock_server import render_jpeg
from vegart.contract import MAX_BODY_BYTES, MAX_PROMPT_CHARS

SEGMIND_URL = "https://api.segmind.test/v1/segmind-vega-rt-v1"
ORIGINS = "https://app.example.com,https://admin.example.com"
INJECTED = "Set-Cookie: pwned=1"


def invoke(fn: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    return fn.lambda_handler(event, still_context())


def all_headers(response: dict[str, Any]) -> list[tuple[str, str]]:
    pairs = list((response.get("headers") or {}).items())
    for name, values in (response.get("multiValueHeaders") or {}).items():
        pairs += [(name, value) for value in values]
    return pairs


def assert_headers_clean(response: dict[str, Any]) -> None:
    for name, value in all_headers(response):
        for bad in ("\r", "\n", "\x00"):
            assert bad not in name and bad not in str(value), (name, value)
        assert "pwned" not in str(value), (name, value)


def assert_refused(response: dict[str, Any], *hostile: str, names: str = "") -> str:
    """A 400 in the contract's shape, naming ``names`` and quoting none of ``hostile``."""
    assert response["statusCode"] == 400, response_body(response)[:300]
    assert header(response, "Content-Type") == "application/json"
    body = response_json(response)
    assert set(body) == {"error"}
    message = body["error"]
    assert isinstance(message, str) and message.strip()
    assert len(message) < 200
    assert names in message
    raw = response_body(response).decode()
    for piece in hostile:
        assert piece not in message and piece not in raw, f"{piece[:40]!r} echoed: {message!r}"
    assert_headers_clean(response)
    return message


def rendered_prompt(segmind: responses.RequestsMock) -> str:
    (call,) = segmind.calls
    return json.loads(call.request.body)["prompt"]


def hostile_text(length: int, unit: str = "Hostile<i>~") -> str:
    return (unit * (length // len(unit) + 1))[:length]


# -- prompts: length, control characters, markup -------------------------------------------


@pytest.mark.parametrize("length", [MAX_PROMPT_CHARS + 1, 20_000, 60_000])
def test_a_prompt_over_the_limit_is_a_400_that_does_not_quote_it(
    fn: ModuleType, length: int
) -> None:
    prompt = hostile_text(length)
    with responses.RequestsMock() as mock:
        response = invoke(fn, api_event({"prompt": prompt}))
        assert len(mock.calls) == 0
    assert_refused(response, prompt[:40], "Hostile<i>~Hostile", names="prompt")


def test_a_100k_prompt_is_refused_for_the_bodys_size(fn: ModuleType) -> None:
    prompt = hostile_text(100_000)
    assert_refused(invoke(fn, api_event({"prompt": prompt})), prompt[:40], names="64 KiB")


@pytest.mark.parametrize("unit", ["界", "😀", "e\u0301"], ids=["cjk", "emoji", "combining"])
def test_the_prompt_limit_counts_characters_not_bytes(
    fn: ModuleType, segmind: responses.RequestsMock, unit: str
) -> None:
    prompt = (unit * MAX_PROMPT_CHARS)[:MAX_PROMPT_CHARS]
    response = invoke(fn, api_event({"prompt": prompt, "seed": 3}))
    assert response["statusCode"] == 200
    assert rendered_prompt(segmind) == prompt
    assert_refused(invoke(fn, api_event({"prompt": prompt + unit[0]})), prompt, names="prompt")


@pytest.mark.parametrize(
    "prompt",
    [
        "a fox\x00in the snow",
        "\x1b[2J\x1b[31mred fox\x1b[0m",
        "a fox\r\nX-Injected: yes\r\n\r\n<html>",
        "a fox \u202eevil\u202c \u200b\ufeff",
        "tab\tbell\x07backspace\x08delete\x7f",
        "<script>alert(document.cookie)</script><img src=x onerror=alert(1)>",
        '{"prompt": "nested"}\\"; DROP TABLE keys; --',
        "${jndi:ldap://example.invalid/a} {{7*7}} %s%n",
    ],
    ids=[
        "nul",
        "ansi",
        "crlf",
        "bidi-zero-width",
        "c0-controls",
        "html",
        "quotes-sql",
        "templates",
    ],
)
def test_a_prompt_with_control_characters_or_markup_is_rendered_as_it_is(
    fn: ModuleType, segmind: responses.RequestsMock, prompt: str
) -> None:
    # The contract: any 1 to 4,096 characters, not only white space, passed on unchanged.
    response = invoke(fn, api_event({"prompt": prompt, "seed": 5}))
    assert response["statusCode"] == 200
    assert header(response, "Content-Type") == "image/jpeg"
    assert rendered_prompt(segmind) == prompt
    assert_headers_clean(response)
    for _, value in all_headers(response):
        assert prompt not in str(value)


@pytest.mark.parametrize("prompt", ["\r\n\t \x0b\x0c", "\u2003\u3000\u00a0", ""])
def test_a_prompt_of_white_space_only_is_a_400(fn: ModuleType, prompt: str) -> None:
    assert_refused(invoke(fn, api_event({"prompt": prompt})), names="prompt")


def test_a_prompt_with_a_lone_surrogate_is_not_a_500(
    fn: ModuleType, segmind: responses.RequestsMock
) -> None:
    # Valid JSON (an escaped lone surrogate), but not a Unicode string: the prompt's 400,
    # never a 500, which would tell the client it is the gateway's fault.
    raw = b'{"prompt": "a fox \\ud800 in the snow", "seed": 5}'
    response = invoke(fn, api_event(raw_body=raw))
    assert_refused(response, "\ud800", names="prompt must be valid Unicode text")


@pytest.mark.parametrize(
    "body",
    [
        {"prompt": "a", "num_inference_steps": "<script>alert(1)</script>"},
        {"prompt": "a", "seed": "'; DROP TABLE keys; --"},
        {"prompt": "a", "base64": "<img src=x onerror=alert(1)>"},
        {"prompt": {"<script>alert(1)</script>": 1}},
        {"prompt": ["<script>alert(1)</script>"]},
        {"prompt": "a", "img_width": "1024\r\nSet-Cookie: pwned=1"},
    ],
    ids=["steps", "seed", "base64", "prompt-object", "prompt-list", "width-crlf"],
)
def test_a_hostile_field_value_is_a_400_that_does_not_quote_it(
    fn: ModuleType, body: dict[str, Any]
) -> None:
    hostile = [
        value if isinstance(value, str) else json.dumps(value)
        for name, value in body.items()
        if name != "prompt" or not isinstance(value, str)
    ]
    with responses.RequestsMock() as mock:
        response = invoke(fn, api_event(body))
        assert len(mock.calls) == 0
    assert_refused(response, *hostile, "<script", "<img", "DROP TABLE")


def test_hostile_unknown_fields_are_ignored(
    fn: ModuleType, segmind: responses.RequestsMock
) -> None:
    body = {"prompt": "a fox", "seed": 9, "<script>alert(1)</script>": "x", "__proto__": {"a": 1}}
    response = invoke(fn, api_event(body))
    assert response["statusCode"] == 200
    assert_headers_clean(response)


# -- bodies: encoding, nesting, size, numbers -------------------------------------------------


INVALID_UTF8 = {
    "latin-1": '{"prompt": "café crème"}'.encode("latin-1"),
    "stray-byte": b'{"prompt": "a fox"}\xff',
    "only-garbage": b"\xff\xfe\xfd\xfc",
    "overlong-slash": b'{"prompt": "a\xc0\xaf"}',
    "utf-16": '{"prompt": "a fox"}'.encode("utf-16"),
    "cut-multibyte": '{"prompt": "界"}'.encode()[:-3] + b'\xe7\x95"}',
}


@pytest.mark.parametrize("name", sorted(INVALID_UTF8))
def test_a_body_that_is_not_utf8_is_a_400(fn: ModuleType, name: str) -> None:
    # API Gateway hands the function every body base64-encoded (binary media type */*), so
    # the bytes arrive as they were sent.
    response = invoke(fn, api_event(raw_body=INVALID_UTF8[name], encode=True))
    assert_refused(response, names="JSON")


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 60_000,
        b'{"a":' * 13_000,
        b'{"prompt": "a", "x": ' + b"[" * 30_000 + b"]" * 30_000 + b"}",
        b"[" * 100_000,
        b'{"a":' * 100_000,
    ],
    ids=["60k-lists", "13k-objects", "deep-unknown-field", "100k-lists", "100k-objects"],
)
def test_deeply_nested_json_is_a_400(fn: ModuleType, raw: bytes) -> None:
    response = invoke(fn, api_event(raw_body=raw))
    assert_refused(response, "[[[[", '{"a":{"a":')


def test_a_body_of_exactly_64_kib_is_rendered(
    fn: ModuleType, segmind: responses.RequestsMock
) -> None:
    shell = json.dumps({"prompt": "a fox", "seed": 1, "pad": ""}).encode()
    raw = json.dumps({"prompt": "a fox", "seed": 1, "pad": "x" * (MAX_BODY_BYTES - len(shell))})
    assert len(raw.encode()) == MAX_BODY_BYTES
    assert invoke(fn, api_event(raw_body=raw.encode()))["statusCode"] == 200


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps({"prompt": "a", "pad": "x" * MAX_BODY_BYTES}).encode()[: MAX_BODY_BYTES + 1],
        json.dumps(
            {"prompt": "a", "pad": "é" * (MAX_BODY_BYTES // 2)}, ensure_ascii=False
        ).encode(),
        b'{"prompt": "a", "pad": "' + b"x" * (10 * 1024 * 1024) + b'"}',
        b" " * (MAX_BODY_BYTES + 1),
    ],
    ids=["64-kib-plus-one", "multibyte-over-64-kib", "10-mib", "white-space"],
)
def test_a_body_over_64_kib_is_a_400_before_it_is_parsed(fn: ModuleType, raw: bytes) -> None:
    assert len(raw) > MAX_BODY_BYTES
    response = invoke(fn, api_event(raw_body=raw))
    # The message is the size rule's: the body was refused on its length, not by the parser.
    assert_refused(response, "xxxxxxxx", "éééé", names="64 KiB")


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        (b'{"prompt": "a", "seed": 1' + b"0" * 5_000 + b"}", "seed must be from -1 to"),
        (
            b'{"prompt": "a", "num_inference_steps": -' + b"9" * 4_400 + b"}",
            "num_inference_steps must be from 4 to 10",
        ),
        (b'{"prompt": "a", "seed": 1e400}', "seed must be an integer"),
        (b'{"prompt": "a", "seed": 4.0}', "seed must be an integer"),
        (b'{"prompt": "a", "seed": NaN}', "valid JSON"),
        (b'{"prompt": "a", "seed": -Infinity}', "valid JSON"),
        (b'{"prompt": "a", "seed": Infinity}', "valid JSON"),
        (b'{"prompt": "a", "extra": [1, {"deep": NaN}]}', "valid JSON"),
        (b'{"prompt": "a", "unknown": 1' + b"0" * 5_000 + b"}", ""),
    ],
    ids=[
        "5000-digit-seed", "4400-digit-steps", "float-overflow", "float", "nan", "-infinity",
        "infinity", "nan-in-an-unknown-field", "5000-digit-unknown-field",
    ],
)  # fmt: skip
def test_an_absurd_number_is_a_400_naming_its_rule(fn: ModuleType, raw: bytes, names: str) -> None:
    """Numbers that RFC 8259 has no room for (NaN, Infinity) are not JSON; a number too long
    for its field is that field's range error, not a complaint about the body."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, SEGMIND_URL, body=render_jpeg("a", 1, 4))
        response = invoke(fn, api_event(raw_body=raw))
        if names:
            assert len(mock.calls) == 0
    if not names:  # an unknown field is ignored, however long its number
        assert response["statusCode"] == 200
        return
    # Sixteen nines: longer than the seed's own limit, which the message may quote.
    assert_refused(response, "00000000", "9" * 16, names=names)


@pytest.mark.parametrize(
    "raw", [b"", b"   ", b"null", b"true", b"42", b'"a fox"', b"[]", b'{"prompt": "a"'], ids=repr
)
def test_a_body_that_is_no_json_object_is_a_400(fn: ModuleType, raw: bytes) -> None:
    assert_refused(invoke(fn, api_event(raw_body=raw)), names="JSON")


# -- content types -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/xml",
        "image/jpeg",
        "application/json; charset=latin-1",
        "application/json\r\nX-Injected: yes",
    ],
)
def test_a_json_body_is_parsed_as_json_whatever_its_content_type(
    fn: ModuleType, segmind: responses.RequestsMock, content_type: str
) -> None:
    event = api_event({"prompt": "a fox", "seed": 2}, headers={"Content-Type": content_type})
    response = invoke(fn, event)
    assert response["statusCode"] == 200
    assert_headers_clean(response)


@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        ("application/x-www-form-urlencoded", b"prompt=%3Cscript%3Ealert(1)%3C/script%3E&seed=1"),
        (
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="prompt"\r\n\r\n'
            b"<script>alert(1)</script>\r\n--xyz--\r\n",
        ),
        ("application/xml", b"<request><prompt><![CDATA[<script>]]></prompt></request>"),
        ("text/plain", b"<script>alert(1)</script>"),
    ],
    ids=["form", "multipart", "xml", "text"],
)
def test_a_body_in_another_format_is_a_400_that_does_not_quote_it(
    fn: ModuleType, content_type: str, raw: bytes
) -> None:
    event = api_event(raw_body=raw, headers={"Content-Type": content_type})
    assert_refused(invoke(fn, event), "<script", "%3Cscript", "CDATA", names="JSON")


# -- headers that might be echoed --------------------------------------------------------------


@pytest.fixture
def fn_with_origins(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The render function of a deployment that allows a list of origins (not "*")."""
    monkeypatch.setenv("ALLOWED_ORIGINS", ORIGINS)
    return load_function("render", sleep=no_wait)


#: What a request from no allowed origin is answered: the deployment's first allowed origin.
FIRST_ALLOWED = {"any": "*", "list": "https://app.example.com"}
HOSTILE_HEADERS = {
    "Origin": f"https://app.example.com\r\n{INJECTED}",
    "x-request-id": f"req-1\r\n{INJECTED}",
    "X-Forwarded-For": f"1.2.3.4\r\n{INJECTED}",
    "Accept": f"image/jpeg\r\n{INJECTED}",
}


@pytest.mark.parametrize(
    "body", [{"prompt": "a fox", "seed": 4}, {"prompt": ""}], ids=["200", "400"]
)
@pytest.mark.parametrize("origins", ["any", "list"])
def test_hostile_request_headers_are_never_echoed(
    request: pytest.FixtureRequest, origins: str, body: dict[str, Any]
) -> None:
    fn = request.getfixturevalue("fn" if origins == "any" else "fn_with_origins")
    request.getfixturevalue("segmind")  # after moto, whose own mock of requests comes first
    event = api_event(body, headers=HOSTILE_HEADERS)
    response = invoke(fn, event)
    assert response["statusCode"] == (200 if body["prompt"] else 400)
    assert_headers_clean(response)
    # x-request-id is API Gateway's own id for the request, never the client's header.
    assert header(response, "x-request-id") == event["requestContext"]["requestId"]
    # A hostile Origin is no allowed origin: the deployment's first, never the header itself.
    assert header(response, "Access-Control-Allow-Origin") == FIRST_ALLOWED[origins]


@pytest.mark.parametrize("origins", ["any", "list"])
def test_a_hostile_preflight_is_not_echoed(request: pytest.FixtureRequest, origins: str) -> None:
    fn = request.getfixturevalue("fn" if origins == "any" else "fn_with_origins")
    event = preflight_event(origin=f"https://app.example.com\r\n{INJECTED}")
    event["headers"]["Access-Control-Request-Headers"] = f"x-api-key\r\n{INJECTED}"
    event["multiValueHeaders"]["Access-Control-Request-Headers"] = [
        event["headers"]["Access-Control-Request-Headers"]
    ]
    response = invoke(fn, event)
    assert response["statusCode"] < 500
    assert_headers_clean(response)
    assert header(response, "Access-Control-Allow-Origin") == FIRST_ALLOWED[origins]


def test_an_allowed_origin_is_echoed_exactly(
    fn_with_origins: ModuleType, segmind: responses.RequestsMock
) -> None:
    event = api_event({"prompt": "a fox"}, headers={"Origin": "https://admin.example.com"})
    response = invoke(fn_with_origins, event)
    assert response["statusCode"] == 200
    assert header(response, "Access-Control-Allow-Origin") == "https://admin.example.com"
    assert_headers_clean(response)


def test_a_backend_message_is_passed_on_as_json_text(fn: ModuleType) -> None:
    # Segmind's own 400 message reaches the client (docs/contract.md, "Backend answers"), as a
    # JSON string with Content-Type application/json: markup in it is text, and CR/LF never
    # reach a header.
    upstream = '<script>alert(1)</script>\r\nSet-Cookie: pwned=1 "quoted"'
    with responses.RequestsMock() as mock:
        mock.add(
            responses.POST,
            "https://api.segmind.test/v1/segmind-vega-rt-v1",
            json={"error": upstream},
            status=400,
        )
        response = invoke(fn, api_event({"prompt": "a fox", "seed": 1}))
    assert response["statusCode"] == 400
    assert header(response, "Content-Type") == "application/json"
    body = json.loads(response_body(response))
    assert set(body) == {"error"}
    assert "\r" not in response_body(response).decode()  # escaped inside the JSON string
    for name, value in all_headers(response):
        assert "\r" not in str(value) and "\n" not in str(value), (name, value)
