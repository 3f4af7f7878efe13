"""The model server's request: one JSON shape, validated before the GPU is touched.

The gateway's render function sends the contract's own field names (docs/contract.md,
"Request fields"), with the seed already resolved::

    {"prompt": str, "seed": int, "num_inference_steps": int, "img_width": int, "img_height": int}

Every rule breach raises :class:`BadRequest`, whose text starts with :data:`BAD_REQUEST_PREFIX`
and names the field. The Hugging Face inference toolkit answers *any* exception as a 400
ModelError, a CUDA fault included, so the prefix is what lets the gateway tell the caller's
mistake (pass it on as a 400) from a server fault (a 502).

Standard library only: the rules can be read, and tested, without torch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Every message of a client-input error starts with this; nothing else the server raises does.
BAD_REQUEST_PREFIX = "bad_request: "
MAX_BODY_BYTES = 64 * 1024
MAX_PROMPT_CHARS = 4096
RANDOM_SEED = -1
MAX_SEED = 999_999_999_999_999
#: The model card's step count for VegaRT (an LCM-LoRA).
DEFAULT_STEPS = 4
MIN_STEPS = 1
#: Latents are an eighth of the image: sizes must divide by it.
SIZE_MULTIPLE = 8


class BadRequest(ValueError):
    """The caller's request breaks a rule; ``field`` is the request field at fault.

    ``str()`` of it is ``"bad_request: <message>"``, which is what reaches the caller.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{BAD_REQUEST_PREFIX}{message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Limits:
    """What this deployment renders: sizes and steps (settings, so tests can use tiny sizes)."""

    min_size: int = 512
    max_size: int = 1024
    default_size: int = 1024
    max_steps: int = 50


@dataclass(frozen=True)
class RenderRequest:
    """A valid request, defaults filled in; ``seed`` -1 means the server picks one."""

    prompt: str
    seed: int = RANDOM_SEED
    num_inference_steps: int = DEFAULT_STEPS
    img_width: int = 1024
    img_height: int = 1024


def decode_body(body: str | bytes | bytearray | Mapping[str, Any] | None) -> dict[str, Any]:
    """Parse the raw request body into a JSON object, whatever its Content-Type said.

    The toolkit hands ``application/json`` bodies over as ``str`` and others as ``bytes``;
    a mapping (an already decoded body) is accepted as it is.
    """
    if isinstance(body, Mapping):
        return dict(body)
    raw = body.encode() if isinstance(body, str) else bytes(body or b"")
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest("body", f"Request body must be at most {MAX_BODY_BYTES // 1024} KiB")
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BadRequest("body", "Request body must be valid JSON") from exc
    if not isinstance(document, dict):
        raise BadRequest("body", "Request body must be a JSON object")
    return document


def _integer(document: Mapping[str, Any], name: str, default: int) -> int:
    value = document.get(name)
    if value is None:  # absent and null both take the default, as in the contract
        return default
    # JSON true is a bool, and bool is an int in Python: reject it explicitly.
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(name, f"{name} must be an integer")
    return value


def _prompt(document: Mapping[str, Any]) -> str:
    prompt = document.get("prompt")
    if prompt is None:
        raise BadRequest("prompt", "prompt is required")
    if not isinstance(prompt, str):
        raise BadRequest("prompt", "prompt must be a string")
    if not prompt.strip():
        raise BadRequest("prompt", "prompt must not be empty or only white space")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise BadRequest("prompt", f"prompt must be at most {MAX_PROMPT_CHARS} characters")
    return prompt


def _size(document: Mapping[str, Any], name: str, limits: Limits) -> int:
    value = _integer(document, name, limits.default_size)
    if value % SIZE_MULTIPLE or not limits.min_size <= value <= limits.max_size:
        raise BadRequest(
            name,
            f"{name} must be a multiple of {SIZE_MULTIPLE} "
            f"from {limits.min_size} to {limits.max_size}",
        )
    return value


def parse_request(document: Mapping[str, Any], limits: Limits) -> RenderRequest:
    """Validate a decoded body; raise :class:`BadRequest` naming the first bad field.

    Unknown fields are ignored, as the gateway's contract does.
    """
    prompt = _prompt(document)
    seed = _integer(document, "seed", RANDOM_SEED)
    if not RANDOM_SEED <= seed <= MAX_SEED:
        raise BadRequest("seed", f"seed must be from {RANDOM_SEED} to {MAX_SEED}")
    steps = _integer(document, "num_inference_steps", DEFAULT_STEPS)
    if not MIN_STEPS <= steps <= limits.max_steps:
        raise BadRequest(
            "num_inference_steps",
            f"num_inference_steps must be from {MIN_STEPS} to {limits.max_steps}",
        )
    width = _size(document, "img_width", limits)
    height = _size(document, "img_height", limits)
    return RenderRequest(prompt, seed, steps, width, height)
