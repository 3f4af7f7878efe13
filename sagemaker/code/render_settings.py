"""Every setting of the model server, read from the environment in this one place.

SageMaker passes a model's ``Environment`` to the container as variables; the local server
and the tests set the same ones. A value that makes no sense stops the model from loading
with :class:`SettingsError`, rather than failing later on a request.

| Variable | Default | Meaning |
|---|---|---|
| ``VEGART_DEVICE`` | ``auto`` | ``auto`` (CUDA when there is one), ``cpu``, ``cuda``, ``cuda:N`` |
| ``VEGART_COMPILE`` | ``0`` | ``torch.compile`` UNet and VAE decode: ``0``/``1`` or a mode name |
| ``VEGART_FP16_VAE`` | ``0`` | ``1``: use the fp16-safe VAE in ``vae_fp16/`` (no fp32 upcast) |
| ``VEGART_WARMUP`` | ``1`` | render once at load, so that the first request is not the slow one |
| ``VEGART_MIN_SIZE``, ``VEGART_MAX_SIZE`` | ``512``, ``1024`` | allowed ``img_width``/``height`` |
| ``VEGART_DEFAULT_SIZE`` | ``1024`` | size of a request that gives none, and of the warm-up |
| ``VEGART_MAX_STEPS`` | ``50`` | the most ``num_inference_steps`` a request may ask |
| ``VEGART_JPEG_QUALITY`` | ``90`` | Pillow's JPEG quality, 1 to 95 |

Standard library only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from render_request import SIZE_MULTIPLE, Limits

#: ``torch.compile`` modes that ``VEGART_COMPILE`` may name.
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


class SettingsError(ValueError):
    """A ``VEGART_*`` variable has a value the server cannot use."""


@dataclass(frozen=True)
class Settings:
    """The model server's settings; :meth:`from_env` is the only reader of the environment."""

    device: str = "auto"
    #: A ``torch.compile`` mode, or None for eager.
    compile_mode: str | None = None
    fp16_vae: bool = False
    warmup: bool = True
    limits: Limits = field(default_factory=Limits)
    jpeg_quality: int = 90

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the ``VEGART_*`` variables of ``env`` (the process environment by default)."""
        env = os.environ if env is None else env
        limits = Limits(
            min_size=_int(env, "VEGART_MIN_SIZE", 512, low=SIZE_MULTIPLE),
            max_size=_int(env, "VEGART_MAX_SIZE", 1024, low=SIZE_MULTIPLE),
            default_size=_int(env, "VEGART_DEFAULT_SIZE", 1024, low=SIZE_MULTIPLE),
            max_steps=_int(env, "VEGART_MAX_STEPS", 50, low=1),
        )
        sizes = (limits.min_size, limits.max_size, limits.default_size)
        if any(size % SIZE_MULTIPLE for size in sizes) or not (
            limits.min_size <= limits.default_size <= limits.max_size
        ):
            raise SettingsError(
                f"VEGART_MIN_SIZE <= VEGART_DEFAULT_SIZE <= VEGART_MAX_SIZE must hold and each "
                f"must be a multiple of {SIZE_MULTIPLE}; got {sizes}"
            )
        device = env.get("VEGART_DEVICE", "auto").strip().lower() or "auto"
        if device not in ("auto", "cpu", "cuda") and not device.startswith("cuda:"):
            raise SettingsError(f"VEGART_DEVICE must be auto, cpu, cuda or cuda:N; got {device!r}")
        return cls(
            device=device,
            compile_mode=_compile_mode(env.get("VEGART_COMPILE", "0")),
            fp16_vae=_flag(env, "VEGART_FP16_VAE", default=False),
            warmup=_flag(env, "VEGART_WARMUP", default=True),
            limits=limits,
            jpeg_quality=_int(env, "VEGART_JPEG_QUALITY", 90, low=1, high=95),
        )


def _int(env: Mapping[str, str], name: str, default: int, *, low: int, high: int = 10**6) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer; got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be from {low} to {high}; got {value}")
    return value


def _flag(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name} must be 1 or 0; got {raw!r}")


def _compile_mode(raw: str) -> str | None:
    value = raw.strip().lower()
    if value in _FALSE:
        return None
    if value in _TRUE:
        return "default"
    if value in COMPILE_MODES:
        return value
    raise SettingsError(f"VEGART_COMPILE must be 0, 1 or one of {', '.join(COMPILE_MODES)}")
