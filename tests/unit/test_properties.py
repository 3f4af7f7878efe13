"""Properties, with Hypothesis: request validation and the cache key (no network).

Validation: any JSON value in any field of a request, unknown fields beside them, either
parses into exactly what the contract's table says, or is a 400 whose message names a field
that breaks the table (through the render function: tests/functional/test_render_properties.py).

The cache key: equal inputs give equal keys, any one changed input a different key, and the
key is the same in other processes, whatever their hash seed, and in other Python versions
(pinned golden values: changing the derivation orphans every cached render, so it must be a
deliberate change that bumps ``KEY_VERSION`` and these values together).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers.request_table import FIELDS, bodies, judge
from vegart.contract import MAX_SEED, RenderRequest, parse_render_request
from vegart.errors import BadRequest
from vegart.render.spec import RenderSpec, cache_key

ROOT = Path(__file__).resolve().parents[2]
#: No example database: CI must not depend on, or write, state from earlier runs.
FAST = settings(max_examples=300, database=None, deadline=None)

# ---------------------------------------------------------------------------------------------
# Validation, against the contract's table (tests/helpers/request_table.py).


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
        "from vegart.render.spec import RenderSpec, cache_key\n"
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
