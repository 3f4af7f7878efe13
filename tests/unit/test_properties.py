"""Properties, with Hypothesis: request validation and the cache key (no network).

Validation: any JSON value in any field of a request, unknown fields beside them, either
parses into exactly what the contract's table says, or is a 400 whose message names a field
that breaks the table, both in ``parse_render_request`` and through the render function.

The cache key: equal inputs give equal keys, any one changed input a different key, and the
key is the same in other processes, whatever their hash seed, and in other Python versions
(pinned golden values: changing the derivation orphans every cached render, so it must be a
deliberate change that bumps ``KEY_VERSION`` and these values together).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devkit.context import still_context
from devkit.events import api_event, header, response_json
from vegart.cache_key import RenderSpec, cache_key
from vegart.contract import MAX_PROMPT_CHARS, MAX_SEED, RenderRequest, parse_render_request
from vegart.errors import BadRequest

ROOT = Path(__file__).resolve().parents[2]
#: No example database: CI must not depend on, or write, state from earlier runs.
FAST = settings(max_examples=300, database=None, deadline=None)

# ---------------------------------------------------------------------------------------------
# The contract's request table, written independently of vegart.contract.

INTEGER_FIELDS = {
    # name: (default, low, high)
    "num_inference_steps": (4, 4, 10),
    "seed": (-1, -1, MAX_SEED),
    "img_width": (1024, 1024, 1024),
    "img_height": (1024, 1024, 1024),
}
FIELDS = ("prompt", *INTEGER_FIELDS, "base64")
ABSENT = object()


def expected_value(name: str, value: Any) -> tuple[bool, Any]:
    """(valid, the value the request takes) for one field, by docs/contract.md's table."""
    if name == "prompt":
        ok = isinstance(value, str) and 1 <= len(value) <= MAX_PROMPT_CHARS and value.strip()
        return bool(ok), value
    if value is ABSENT or value is None:  # absent and null take the default
        return True, INTEGER_FIELDS[name][0] if name in INTEGER_FIELDS else False
    if name == "base64":
        return isinstance(value, bool), value
    _default, low, high = INTEGER_FIELDS[name]
    is_int = isinstance(value, int) and not isinstance(value, bool)
    return is_int and low <= value <= high, value


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
#: The values next to every edge of the table, which random JSON would rarely hit.
edge_values = st.sampled_from(
    [
        *(-2, -1, 0, 1, 3, 4, 5, 10, 11, 1023, 1024, 1025, MAX_SEED, MAX_SEED + 1, 2**63),
        *(4.0, 4.5, 1024.0, -1.0, "4", "1024", "true", True, False, None),
        *("", " ", "\t\n", "\u3000", "a", " a ", "a" * MAX_PROMPT_CHARS, "a" * 4097),
        *([], {}, [4], {"prompt": "a"}),
    ]
)
field_values = st.one_of(st.just(ABSENT), edge_values, json_values)
known = set(FIELDS)
extra_fields = st.dictionaries(
    st.text(max_size=12).filter(lambda name: name not in known), json_values, max_size=3
)


def valid_values(name: str) -> st.SearchStrategy[Any]:
    """Values the table accepts for one field (absent and null included)."""
    if name == "prompt":
        return st.text(min_size=1, max_size=40).filter(str.strip) | st.just("a" * MAX_PROMPT_CHARS)
    if name == "base64":
        return st.sampled_from([ABSENT, None, True, False])
    _default, low, high = INTEGER_FIELDS[name]
    return st.just(ABSENT) | st.none() | st.integers(low, high)


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A JSON object: each field of the table absent or any value, unknown fields beside.

    Each field is left to chance (any JSON, an edge of the table, absent) one time in five,
    and is otherwise valid, so that the valid bodies that render are common too, and every
    field is reached and judged.
    """
    body: dict[str, Any] = draw(extra_fields)
    for name in FIELDS:
        wild = draw(st.integers(0, 4)) == 0
        value = draw(field_values if wild else valid_values(name))
        if value is not ABSENT:
            body[name] = value
    return body


def judge(body: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The fields that break the table, and the values the request takes."""
    bad, values = [], {}
    for name in FIELDS:
        ok, value = expected_value(name, body.get(name, ABSENT))
        if not ok:
            bad.append(name)
        values[name] = value
    return bad, values


@given(bodies())
@FAST
def test_any_json_in_any_field_parses_or_is_a_400_naming_a_bad_field(body: dict) -> None:
    bad, values = judge(body)
    raw = json.dumps(body).encode()
    if not bad:
        request = parse_render_request(raw)
        assert request == RenderRequest(
            prompt=values["prompt"],
            num_inference_steps=values["num_inference_steps"],
            seed=values["seed"],
            img_width=values["img_width"],
            img_height=values["img_height"],
            base64=values["base64"],
        )
        return
    with pytest.raises(BadRequest) as raised:
        parse_render_request(raw)
    message = raised.value.message
    assert raised.value.status == 400
    named = [name for name in FIELDS if name in message]
    assert named, message
    assert set(named) <= set(bad), (message, bad)


@given(bodies(), st.sampled_from(["str", "bytes"]))
@FAST
def test_the_body_parses_the_same_as_text_or_bytes(body: dict, kind: str) -> None:
    raw = json.dumps(body, ensure_ascii=False)

    def outcome(data: str | bytes) -> Any:
        try:
            return parse_render_request(data)
        except BadRequest as exc:
            return exc.message

    assert outcome(raw if kind == "str" else raw.encode()) == outcome(raw.encode())


# ---------------------------------------------------------------------------------------------
# The same, through the render function in process (moto for AWS, responses for Segmind).


@given(body=bodies())
@settings(
    max_examples=100,
    database=None,
    deadline=None,
    # One moto deployment serves every example: the function keeps no state between requests
    # that could make one example's answer depend on another's, but for the cache and the
    # credits, which only decide HIT or MISS and the balance.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_render_function_answers_200_or_a_400_naming_a_bad_field(
    fn: ModuleType, segmind: responses.RequestsMock, body: dict
) -> None:
    bad, values = judge(body)
    response = fn.lambda_handler(api_event(body), still_context())
    status = response["statusCode"]
    if not bad:
        assert status == 200, response_json(response)
        assert header(response, "x-cache") in ("HIT", "MISS")
        if values["seed"] != -1:
            assert header(response, "x-seed-value") == str(values["seed"])
        if values["base64"]:
            assert header(response, "Content-Type") == "application/json"
            assert base64.b64decode(response_json(response)["image"])[:2] == b"\xff\xd8"
        else:
            assert header(response, "Content-Type") == "image/jpeg"
        return
    assert status == 400, response.get("body")
    assert header(response, "Content-Type") == "application/json"
    answer = response_json(response)
    assert set(answer) == {"error"}
    named = [name for name in FIELDS if name in answer["error"]]
    assert named, answer
    assert set(named) <= set(bad), (answer, bad)


@pytest.mark.parametrize("raw", [b"\x80", b"\xed\xa0\x80", b'{"prompt": "caf\xe9"}'])
def test_a_body_that_is_not_utf8_is_a_400_naming_the_body(fn: ModuleType, raw: bytes) -> None:
    # The gateway once read Powertools' decoded_body, a UTF-8 decode outside the JSON
    # validation's error handling, and answered these with 500.
    response = fn.lambda_handler(api_event(raw_body=raw), still_context())
    assert response["statusCode"] == 400
    assert response_json(response) == {"error": "Request body must be valid JSON"}


# ---------------------------------------------------------------------------------------------
# The cache key.

specs = st.builds(
    RenderSpec,
    backend=st.sampled_from(["segmind", "sagemaker"]) | st.text(max_size=10),
    model=st.sampled_from(["segmind-vega-rt-v1"]) | st.text(max_size=20),
    prompt=st.text(max_size=60),
    seed=st.integers(0, MAX_SEED),
    num_inference_steps=st.integers(4, 10),
    img_width=st.integers(1, 4096),
    img_height=st.integers(1, 4096),
)
SPEC_FIELDS = [field.name for field in dataclasses.fields(RenderSpec)]


@given(specs)
@FAST
def test_equal_inputs_give_equal_keys(spec: RenderSpec) -> None:
    twin = RenderSpec(**dataclasses.asdict(spec))
    assert twin is not spec
    assert cache_key(twin) == cache_key(spec)


@given(specs, st.sampled_from(SPEC_FIELDS), st.data())
@FAST
def test_changing_any_one_input_changes_the_key(
    spec: RenderSpec, name: str, data: st.DataObject
) -> None:
    current = getattr(spec, name)
    if isinstance(current, str):
        other: Any = data.draw(st.text(max_size=60).filter(lambda text: text != current))
    else:
        other = data.draw(st.integers(0, MAX_SEED).filter(lambda number: number != current))
    assert cache_key(dataclasses.replace(spec, **{name: other})) != cache_key(spec)


#: Fixed specs and their keys, computed once and written here as literals: if the derivation
#: changes (field order, JSON spacing, encoding, hash), these fail. The first is also the
#: SHA-256 of its canonical description written out by hand in test_cache_key.py.
GOLDEN = [
    (
        RenderSpec("segmind", "segmind-vega-rt-v1", "a red fox, snow", 758143278, 4, 1024, 1024),
        "v1/segmind/segmind-vega-rt-v1/"
        "c6ae9a2fca78082ba0165199539538e6523422acc56f3062caeb4c165ea08aff.jpg",
    ),
    (
        RenderSpec("segmind", "segmind-vega-rt-v1", "café ☕ 東京", 0, 10, 1024, 1024),
        "v1/segmind/segmind-vega-rt-v1/"
        "8c2fc8c58bf4f58982dc138f608be481044b867158ae4b6b455efac6eb862639.jpg",
    ),
    (
        RenderSpec(
            "sagemaker", "segmind-vega-rt-v1", 'quote " and \\ and \n', MAX_SEED, 7, 1024, 1024
        ),
        "v1/sagemaker/segmind-vega-rt-v1/"
        "281ed78f368a80f2cb73a1e8489b451b8062abc780ffe150841cfc8ec2d54c55.jpg",
    ),
]


def test_pinned_specs_have_their_golden_keys() -> None:
    for spec, key in GOLDEN:
        assert cache_key(spec) == key, spec


@pytest.mark.parametrize("hash_seed", ["0", "1", "4242", "random"])
def test_keys_are_the_same_in_other_processes_whatever_their_hash_seed(hash_seed: str) -> None:
    code = (
        "import json, sys\n"
        "from vegart.cache_key import RenderSpec, cache_key\n"
        "specs = [RenderSpec(*row) for row in json.load(sys.stdin)]\n"
        "print(json.dumps([cache_key(spec) for spec in specs]))\n"
    )
    rows = [dataclasses.astuple(spec) for spec, _ in GOLDEN]
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(rows),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert json.loads(done.stdout) == [key for _, key in GOLDEN]
