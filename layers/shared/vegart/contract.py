"""The public request of ``POST /v1/segmind-vega-rt-v1`` and its rules.

docs/contract.md, "Request fields", is the table this module enforces.

Validation is table-driven: each integer field is one :class:`IntField` row, so the request
table in the contract, this module and the OpenAPI document can be compared line by line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from vegart.errors import BadRequest

MODEL_SLUG = "segmind-vega-rt-v1"
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


#: Digits beyond any field's range: a longer integer is read as this, signed, so that its
#: field's range check names it (rather than Python's 4,300-digit limit refusing the body).
_MAX_DIGITS = 40
_BEYOND_ANY_FIELD: int = 10**_MAX_DIGITS


def _integer(text: str) -> int:
    if len(text.lstrip("-")) <= _MAX_DIGITS:
        return int(text)
    return -_BEYOND_ANY_FIELD if text.startswith("-") else _BEYOND_ANY_FIELD


def _not_json(name: str) -> Any:
    """``NaN``, ``Infinity`` and ``-Infinity``: Python's json reads them, RFC 8259 does not."""
    raise ValueError(f"{name} is not JSON")


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """A request body as JSON (RFC 8259, UTF-8 only), which must be an object.

    The body is parsed as JSON whatever its Content-Type says, as Segmind does.
    """
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest(f"Request body must be at most {MAX_BODY_BYTES // 1024} KiB")
    try:
        # UTF-8 only (RFC 8259 §8.1): json.loads would also guess UTF-16 and UTF-32 from bytes.
        document = json.loads(raw.decode("utf-8"), parse_int=_integer, parse_constant=_not_json)
    except (ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError, UnicodeDecodeError and the non-JSON constants.
        raise BadRequest("Request body must be valid JSON") from exc
    if not isinstance(document, dict):
        raise BadRequest("Request body must be a JSON object")
    return document


def parse_render_request(body: bytes | str | None) -> RenderRequest:
    """Validate a raw request body; raise :class:`BadRequest` naming the first bad field."""
    # A lone surrogate encodes (and then fails to decode as UTF-8: a 400, not a crash).
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else (body or b"")
    return render_request_of(parse_json_object(raw))


def render_request_of(document: dict[str, Any]) -> RenderRequest:
    """The render fields of a parsed body (v2's submit has more, which it reads itself)."""
    prompt = _prompt(document)
    steps, seed, width, height = (field.read(document) for field in INT_FIELDS)
    return RenderRequest(prompt, steps, seed, width, height, _flag(document, "base64"))
