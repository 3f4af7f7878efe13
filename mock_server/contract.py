"""What Segmind's v1 route accepts and how it words its refusals.

This module is the mock's own reading of Segmind's public page, written independently of the
gateway's validation on purpose: the mock stands for Segmind, so a mistake shared by both
would go unnoticed by the contract tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MODEL_SLUG = "segmind-vega-rt-v1"
MAX_BODY_BYTES = 64 * 1024
MAX_PROMPT_CHARS = 4096
MAX_SEED = 999_999_999_999_999

#: Segmind-shaped messages for each documented status. 401's two wordings are Segmind's own.
MESSAGES: dict[int, str] = {
    400: "Invalid parameters or request format",
    401: "Unauthorized. API key is invalid or may have expired",
    403: "Forbidden. This API key is disabled",
    404: "Model not found",
    406: "Insufficient credits",
    429: "Rate limit exceeded. Please slow down and try again later",
    500: "Internal server error",
    502: "Service temporarily unavailable",
    504: "Request timed out",
}
MISSING_KEY_MESSAGE = "Missing Authorization or x-api-key in header"
DOCUMENTED_STATUSES = frozenset(MESSAGES)


class InvalidRequest(ValueError):
    """A request Segmind would answer with 400; the message names the field."""


@dataclass(frozen=True)
class RenderRequest:
    """A validated render request with every default filled in."""

    prompt: str
    num_inference_steps: int
    seed: int
    img_width: int
    img_height: int
    base64: bool


def _integer(body: dict[str, Any], field: str, default: int, low: int, high: int) -> int:
    value = body.get(field)
    if value is None:
        return default
    # bool is a subclass of int in Python, but JSON's true is not an integer.
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidRequest(f"{field} must be an integer")
    if not low <= value <= high:
        allowed = str(low) if low == high else f"between {low} and {high}"
        raise InvalidRequest(f"{field} must be {allowed}")
    return value


def parse_render_request(raw: bytes) -> RenderRequest:
    """Validate a request body the way the contract's request table says."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        # ValueError, not only JSONDecodeError: bad UTF-8, and a number of more than 4,300
        # digits, which is valid JSON that Python refuses to turn into an int. RecursionError:
        # a 64 KiB body of nested brackets. All three are the caller's fault, so 400, not 500.
        raise InvalidRequest("Request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise InvalidRequest("Request body must be a JSON object")
    prompt = body.get("prompt")
    if prompt is None:
        raise InvalidRequest("prompt is required")
    if not isinstance(prompt, str):
        raise InvalidRequest("prompt must be a string")
    if not prompt.strip():
        raise InvalidRequest("prompt must not be empty")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidRequest(f"prompt must be at most {MAX_PROMPT_CHARS} characters")
    steps = _integer(body, "num_inference_steps", 4, 4, 10)
    seed = _integer(body, "seed", -1, -1, MAX_SEED)
    width = _integer(body, "img_width", 1024, 1024, 1024)
    height = _integer(body, "img_height", 1024, 1024, 1024)
    as_base64 = body.get("base64")
    if as_base64 is None:
        as_base64 = False
    elif not isinstance(as_base64, bool):
        raise InvalidRequest("base64 must be a boolean")
    return RenderRequest(
        prompt=prompt,
        num_inference_steps=steps,
        seed=seed,
        img_width=width,
        img_height=height,
        base64=as_base64,
    )
