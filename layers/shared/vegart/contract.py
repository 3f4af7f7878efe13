"""The public request of ``POST /v1/segmind-vega-rt-v1`` and its rules (CONTRACT.md).

Validation is table-driven: each integer field is one :class:`IntField` row, so the request
table in the contract, this module and the OpenAPI document can be compared line by line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .errors import BadRequest

MODEL_SLUG = "segmind-vega-rt-v1"
ROUTE = f"/v1/{MODEL_SLUG}"
MAX_BODY_BYTES = 64 * 1024
MAX_PROMPT_CHARS = 4096
RANDOM_SEED = -1
MAX_SEED = 999_999_999_999_999
IMAGE_SIZE = 1024


@dataclass(frozen=True)
class IntField:
    """An integer request field: its default and inclusive bounds."""

    name: str
    default: int
    low: int
    high: int

    def read(self, body: dict[str, Any]) -> int:
        value = body.get(self.name)
        if value is None:  # absent and null both take the default
            return self.default
        # JSON true is a bool, and bool is an int in Python: reject it explicitly.
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadRequest(f"{self.name} must be an integer")
        if not self.low <= value <= self.high:
            allowed = f"{self.low}" if self.low == self.high else f"from {self.low} to {self.high}"
            raise BadRequest(f"{self.name} must be {allowed}")
        return value


STEPS = IntField("num_inference_steps", 4, 4, 10)
SEED = IntField("seed", RANDOM_SEED, RANDOM_SEED, MAX_SEED)
WIDTH = IntField("img_width", IMAGE_SIZE, IMAGE_SIZE, IMAGE_SIZE)
HEIGHT = IntField("img_height", IMAGE_SIZE, IMAGE_SIZE, IMAGE_SIZE)
INT_FIELDS = (STEPS, SEED, WIDTH, HEIGHT)


@dataclass(frozen=True)
class RenderRequest:
    """A valid render request, defaults filled in; ``seed`` may still be -1 (random)."""

    prompt: str
    num_inference_steps: int = STEPS.default
    seed: int = SEED.default
    img_width: int = IMAGE_SIZE
    img_height: int = IMAGE_SIZE
    base64: bool = False

    def with_seed(self, seed: int) -> RenderRequest:
        return RenderRequest(
            self.prompt,
            self.num_inference_steps,
            seed,
            self.img_width,
            self.img_height,
            self.base64,
        )


def _prompt(body: dict[str, Any]) -> str:
    prompt = body.get("prompt")
    if prompt is None:
        raise BadRequest("prompt is required")
    if not isinstance(prompt, str):
        raise BadRequest("prompt must be a string")
    if not prompt.strip():
        raise BadRequest("prompt must not be empty or only white space")
    try:
        prompt.encode("utf-8")
    except UnicodeEncodeError:  # JSON's "\ud800": a lone surrogate, not a character
        raise BadRequest("prompt must be valid Unicode text") from None
    if len(prompt) > MAX_PROMPT_CHARS:
        raise BadRequest(f"prompt must be at most {MAX_PROMPT_CHARS} characters")
    return prompt


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise BadRequest(f"{name} must be a boolean")
    return value


def parse_render_request(body: bytes | str | None) -> RenderRequest:
    """Validate a raw request body; raise :class:`BadRequest` naming the first bad field.

    The body is parsed as JSON whatever its Content-Type says, as Segmind does.
    """
    raw = body.encode() if isinstance(body, str) else (body or b"")
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest(f"Request body must be at most {MAX_BODY_BYTES // 1024} KiB")
    try:
        # UTF-8 only (RFC 8259 §8.1): json.loads would also guess UTF-16 and UTF-32 from bytes.
        document = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError, UnicodeDecodeError and integers past Python's
        # digit limit (a 5,000-digit seed is not a seed, but it must not be a 500 either).
        raise BadRequest("Request body must be valid JSON") from exc
    if not isinstance(document, dict):
        raise BadRequest("Request body must be a JSON object")
    prompt = _prompt(document)
    steps, seed, width, height = (field.read(document) for field in INT_FIELDS)
    return RenderRequest(prompt, steps, seed, width, height, _flag(document, "base64"))
