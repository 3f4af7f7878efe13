"""A tiny Segmind-Vega-shaped model directory, built offline, and the model server's code
(``sagemaker/code``, importable as the SageMaker toolkit makes it).

The session builds the model directory once (a second or two): a random SDXL pipeline of
Vega's shape from ``sagemaker/random_vega.py``, saved with ``save_pretrained``, with a random
LoRA made with peft in ``lora/``, and an fp16-safe-style VAE in ``vae_fp16/``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from devkit.model_server import use_model_server_code
from tests.helpers.model_server import TINY_ENV, load_script, save_lora

use_model_server_code()


@pytest.fixture(scope="session")
def random_vega() -> ModuleType:
    return load_script("random_vega")


@pytest.fixture(scope="session")
def base_dir(tmp_path_factory: pytest.TempPathFactory, random_vega: ModuleType) -> Path:
    """The tiny pipeline alone, as ``snapshot_download`` would leave Segmind-Vega."""
    folder = tmp_path_factory.mktemp("vega") / "base"
    random_vega.build_pipeline(tiny=True).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def fp16_vae_dir(tmp_path_factory: pytest.TempPathFactory, random_vega: ModuleType) -> Path:
    """A second VAE, ``force_upcast`` off as in madebyollin/sdxl-vae-fp16-fix."""
    import torch
    from diffusers import AutoencoderKL

    torch.manual_seed(2)
    folder = tmp_path_factory.mktemp("vae") / "vae_fp16"
    AutoencoderKL(**{**random_vega.TINY_VAE, "force_upcast": False}).save_pretrained(folder)
    return folder


def _model_dir(base: Path, target: Path, *, zero_lora: bool, vae: Path | None) -> Path:
    shutil.copytree(base, target)
    save_lora(base / "unet", target / "lora", zero=zero_lora)
    if vae is not None:
        shutil.copytree(vae, target / "vae_fp16")
    return target


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory, base_dir: Path, fp16_vae_dir: Path) -> Path:
    """The layout ``inference.py`` serves: the pipeline, ``lora/`` and ``vae_fp16/``."""
    target = tmp_path_factory.mktemp("model") / "model"
    return _model_dir(base_dir, target, zero_lora=False, vae=fp16_vae_dir)


@pytest.fixture(scope="session")
def zero_lora_model_dir(tmp_path_factory: pytest.TempPathFactory, base_dir: Path) -> Path:
    target = tmp_path_factory.mktemp("model") / "zero-lora"
    return _model_dir(base_dir, target, zero_lora=True, vae=None)


@pytest.fixture(scope="session")
def inference() -> ModuleType:
    import inference

    return inference


@pytest.fixture(scope="session")
def tiny_settings() -> Any:
    from render_settings import Settings

    return Settings.from_env(TINY_ENV)


@pytest.fixture(scope="session")
def model(model_dir: Path, inference: ModuleType) -> Any:
    """Loaded through ``model_fn`` itself, settings and all from the environment."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in TINY_ENV.items():
            patch.setenv(name, value)
        return inference.model_fn(str(model_dir))


@pytest.fixture(scope="session")
def zero_lora_model(zero_lora_model_dir: Path, inference: ModuleType, tiny_settings: Any) -> Any:
    return inference.load_model(zero_lora_model_dir, tiny_settings)


@pytest.fixture
def unet_calls(model: Any) -> Iterator[list[int]]:
    """Counts the UNet's forward passes while a test runs: one a step at guidance 0."""
    calls: list[int] = []
    handle = model.pipe.unet.register_forward_hook(lambda *_: calls.append(1))
    yield calls
    handle.remove()
