"""The cache key names exactly what decides the pixels, stably across processes."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from vegart.render.spec import KEY_VERSION, RenderSpec, cache_key, etag

SPEC = RenderSpec(
    backend="segmind",
    model="segmind-vega-rt-v1",
    prompt="a red fox, snow",
    seed=758143278,
    num_inference_steps=4,
    img_width=1024,
    img_height=1024,
)


def test_the_key_is_versioned_and_names_backend_and_model() -> None:
    key = cache_key(SPEC)
    assert key.startswith(f"{KEY_VERSION}/segmind/segmind-vega-rt-v1/")
    assert key.endswith(".jpg")


def test_the_key_is_a_fixed_value_for_a_fixed_input() -> None:
    # Pinned: a change here orphans every cached render, so it must bump KEY_VERSION.
    assert cache_key(SPEC) == (
        "v1/segmind/segmind-vega-rt-v1/"
        + __import__("hashlib")
        .sha256(
            b'{"backend":"segmind","height":1024,"model":"segmind-vega-rt-v1",'
            b'"prompt":"a red fox, snow","seed":758143278,"steps":4,"width":1024}'
        )
        .hexdigest()
        + ".jpg"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("backend", "sagemaker"),
        ("model", "other-model"),
        ("prompt", "a red fox, snow "),
        ("seed", 758143279),
        ("num_inference_steps", 5),
        ("img_width", 1023),
        ("img_height", 1023),
    ],
)
def test_any_change_of_input_changes_the_key(field: str, value: object) -> None:
    assert cache_key(dataclasses.replace(SPEC, **{field: value})) != cache_key(SPEC)


def test_the_key_is_the_same_in_another_process() -> None:
    code = (
        "from vegart.render.spec import RenderSpec, cache_key;"
        "print(cache_key(RenderSpec('segmind','segmind-vega-rt-v1','a red fox, snow',"
        "758143278,4,1024,1024)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123", "PATH": ""},
    )
    assert out.stdout.strip() == cache_key(SPEC)


def test_unicode_prompts_are_keyed_by_their_text() -> None:
    a = dataclasses.replace(SPEC, prompt="café")
    b = dataclasses.replace(SPEC, prompt="cafe\u0301")  # same look, different text
    assert cache_key(a) != cache_key(b)


def test_the_etag_is_a_strong_validator_of_the_key() -> None:
    tag = etag(cache_key(SPEC))
    assert tag.startswith('"') and tag.endswith('"') and not tag.startswith("W/")
    assert tag == etag(cache_key(SPEC))
    assert tag != etag(cache_key(dataclasses.replace(SPEC, seed=1)))
