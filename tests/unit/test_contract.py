"""Every rule of docs/contract.md's request table, one row each."""

from __future__ import annotations

import json
from typing import Any

import pytest

from vegart.contract import MAX_BODY_BYTES, RenderRequest, parse_render_request
from vegart.errors import BadRequest


def parse(body: Any) -> RenderRequest:
    return parse_render_request(json.dumps(body))


def test_defaults_fill_every_optional_field() -> None:
    assert parse({"prompt": "a fox"}) == RenderRequest(
        prompt="a fox",
        num_inference_steps=4,
        seed=-1,
        img_width=1024,
        img_height=1024,
        base64=False,
    )


def test_null_takes_the_default_and_unknown_fields_are_ignored() -> None:
    request = parse(
        {
            "prompt": "a fox",
            "seed": None,
            "num_inference_steps": None,
            "img_width": None,
            "img_height": None,
            "base64": None,
            "style": "oil",
        }
    )
    assert request == RenderRequest(prompt="a fox")


def test_every_field_in_range_is_kept() -> None:
    request = parse(
        {
            "prompt": " x ",
            "num_inference_steps": 10,
            "seed": 999_999_999_999_999,
            "img_width": 1024,
            "img_height": 1024,
            "base64": True,
        }
    )
    assert request == RenderRequest(" x ", 10, 999_999_999_999_999, 1024, 1024, True)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "prompt"),
        ({"prompt": None}, "prompt"),
        ({"prompt": 7}, "prompt"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": " \n\t "}, "prompt"),
        ({"prompt": "x" * 4097}, "prompt"),
        ({"prompt": "a", "num_inference_steps": 3}, "num_inference_steps"),
        ({"prompt": "a", "num_inference_steps": 11}, "num_inference_steps"),
        ({"prompt": "a", "num_inference_steps": "4"}, "num_inference_steps"),
        ({"prompt": "a", "num_inference_steps": 4.5}, "num_inference_steps"),
        ({"prompt": "a", "num_inference_steps": 4.0}, "num_inference_steps"),
        ({"prompt": "a", "num_inference_steps": True}, "num_inference_steps"),
        ({"prompt": "a", "seed": -2}, "seed"),
        ({"prompt": "a", "seed": 1_000_000_000_000_000}, "seed"),
        ({"prompt": "a", "seed": False}, "seed"),
        ({"prompt": "a", "seed": [1]}, "seed"),
        ({"prompt": "a", "img_width": 512}, "img_width"),
        ({"prompt": "a", "img_width": "1024"}, "img_width"),
        ({"prompt": "a", "img_height": 2048}, "img_height"),
        ({"prompt": "a", "base64": 1}, "base64"),
        ({"prompt": "a", "base64": "true"}, "base64"),
    ],
)
def test_a_broken_rule_is_a_400_naming_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse(body)
    assert caught.value.status == 400
    assert field in caught.value.message


def test_a_prompt_of_exactly_4096_characters_is_allowed() -> None:
    assert len(parse({"prompt": "x" * 4096}).prompt) == 4096


@pytest.mark.parametrize("raw", [b"", b"not json", b"{", b"\xff\xfe", b"[1, 2]", b'"a"', b"null"])
def test_a_body_that_is_not_a_json_object_is_a_400(raw: bytes) -> None:
    with pytest.raises(BadRequest, match="Request body"):
        parse_render_request(raw)


def test_a_body_over_64_kib_is_a_400_even_when_it_is_valid_json() -> None:
    raw = json.dumps({"prompt": "a", "padding": "x" * MAX_BODY_BYTES}).encode()
    with pytest.raises(BadRequest, match="64 KiB"):
        parse_render_request(raw)


def test_deeply_nested_json_is_a_400_not_a_crash() -> None:
    with pytest.raises(BadRequest):
        parse_render_request(b"[" * 50_000 + b"]" * 50_000)
