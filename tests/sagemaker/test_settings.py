"""``render_settings``: the model server's environment, read in one place and checked."""

from __future__ import annotations

import pytest
from render_request import Limits
from render_settings import Settings, SettingsError


def test_the_defaults_serve_the_gateway_at_1024():
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.limits == Limits(min_size=512, max_size=1024, default_size=1024, max_steps=50)
    assert settings.device == "auto"
    assert settings.compile_mode is None
    assert settings.fp16_vae is False
    assert settings.warmup is True


@pytest.mark.parametrize(
    ("value", "mode"),
    [("0", None), ("", None), ("off", None), ("1", "default"), ("true", "default"),
     ("max-autotune", "max-autotune"), ("reduce-overhead", "reduce-overhead")],
)  # fmt: skip
def test_compile_is_off_on_or_a_mode(value, mode):
    assert Settings.from_env({"VEGART_COMPILE": value}).compile_mode == mode


def test_every_variable_is_read():
    settings = Settings.from_env({
        "VEGART_DEVICE": "cuda:1", "VEGART_COMPILE": "1", "VEGART_FP16_VAE": "yes",
        "VEGART_WARMUP": "0", "VEGART_MIN_SIZE": "256", "VEGART_MAX_SIZE": "2048",
        "VEGART_DEFAULT_SIZE": "768", "VEGART_MAX_STEPS": "8", "VEGART_JPEG_QUALITY": "80",
    })  # fmt: skip
    assert settings == Settings(
        device="cuda:1", compile_mode="default", fp16_vae=True, warmup=False,
        limits=Limits(256, 2048, 768, 8), jpeg_quality=80,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"VEGART_COMPILE": "fast"}, "VEGART_COMPILE"),
        ({"VEGART_FP16_VAE": "maybe"}, "VEGART_FP16_VAE"),
        ({"VEGART_DEVICE": "tpu"}, "VEGART_DEVICE"),
        ({"VEGART_MAX_SIZE": "big"}, "VEGART_MAX_SIZE"),
        ({"VEGART_MAX_STEPS": "0"}, "VEGART_MAX_STEPS"),
        ({"VEGART_JPEG_QUALITY": "100"}, "VEGART_JPEG_QUALITY"),
        ({"VEGART_MIN_SIZE": "100"}, "VEGART_MIN_SIZE"),  # not a multiple of 8
        ({"VEGART_DEFAULT_SIZE": "2048"}, "VEGART_DEFAULT_SIZE"),  # above the maximum
    ],
)
def test_a_value_the_server_cannot_use_stops_it_naming_the_variable(env, names):
    with pytest.raises(SettingsError, match=names):
        Settings.from_env(env)
