"""What an image is: a render with every input decided (:class:`RenderSpec`), and its name.

A request is decided once (:func:`decide`: a seed of -1 is picked), so that v1's render, a v2
job and its worker all mean the same pixels by it, and the cache names them by it.

The cache's key layout (version 1)::

    v1/<backend>/<model>/<sha256 of the canonical render description>.jpg

The canonical description is the JSON object of backend, model, prompt, seed, steps, width
and height, with sorted keys, no white space and UTF-8 text. The version prefix changes when
this recipe changes, so that old objects are never read under a new meaning; they expire by
the bucket's lifecycle rule. Two requests share a key exactly when they would share pixels:
``base64`` is a response format, not part of the picture, so it is left out.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from vegart.contract import RANDOM_SEED, RenderRequest

KEY_VERSION = "v1"


@dataclass(frozen=True)
class RenderSpec:
    """A render with every input decided: the seed is concrete, never -1."""

    backend: str
    model: str
    prompt: str
    seed: int
    num_inference_steps: int
    img_width: int
    img_height: int

    def canonical(self) -> bytes:
        """The inputs as the cache key hashes them. Its short names ("steps", "width") are
        part of every stored key: renaming one orphans the whole cache (see KEY_VERSION)."""
        description = {
            "backend": self.backend,
            "height": self.img_height,
            "model": self.model,
            "prompt": self.prompt,
            "seed": self.seed,
            "steps": self.num_inference_steps,
            "width": self.img_width,
        }
        return json.dumps(
            description, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()

    def digest(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()


def cache_key(spec: RenderSpec) -> str:
    """The S3 object key of a render."""
    return f"{KEY_VERSION}/{spec.backend}/{spec.model}/{spec.digest()}.jpg"


def etag(key: str, representation: str = "jpeg") -> str:
    """A strong validator of the image stored under ``key``, as sent in ``representation``.

    Equal keys, equal bytes: the raw JPEG keeps the key's own validator; any other way of
    sending the same image (``json``, base64 in a JSON body) has one of its own, since a
    strong ETag promises byte-for-byte equal bodies.
    """
    tag = key if representation == "jpeg" else f"{key}#{representation}"
    return '"' + hashlib.sha256(tag.encode()).hexdigest()[:32] + '"'


def prompt_fingerprint(prompt: str) -> str:
    """What logs and object metadata carry instead of the prompt itself."""
    return hashlib.sha256(prompt.encode()).hexdigest()


#: Seeds the gateway picks for -1 stay within 32 bits, which every backend accepts.
PICKED_SEED_LIMIT = 2**32


def pick_seed() -> int:
    """A random seed for a request that asked for -1."""
    return secrets.randbelow(PICKED_SEED_LIMIT)


def decide(
    request: RenderRequest, backend: tuple[str, str], seeds: Callable[[], int] = pick_seed
) -> RenderSpec:
    """Every input of a render, for ``backend`` (its name and model): a seed of -1 is picked
    now, so that the spec names one image and the cache key can be computed."""
    name, model = backend
    return RenderSpec(
        backend=name,
        model=model,
        prompt=request.prompt,
        seed=request.seed if request.seed != RANDOM_SEED else seeds(),
        num_inference_steps=request.num_inference_steps,
        img_width=request.img_width,
        img_height=request.img_height,
    )
