"""The model server's scripts, loaded by path, and the tiny model's settings and LoRA.

The model server is not part of the gateway's packages: ``sagemaker/code`` is made importable
the way the SageMaker toolkit does it (``devkit.model_server``), and the scripts beside it are
loaded by path (``sagemaker/`` is deliberately not a package, so that it never shadows the SDK).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from devkit.functions import ROOT

SAGEMAKER = ROOT / "sagemaker"
#: Settings for the tiny model: it renders 32 to 128 pixels (the gateway always asks 1024).
TINY_ENV = {
    "VEGART_DEVICE": "cpu",
    "VEGART_MIN_SIZE": "32",
    "VEGART_MAX_SIZE": "128",
    "VEGART_DEFAULT_SIZE": "64",
    "VEGART_MAX_STEPS": "12",
    "VEGART_COMPILE": "0",
    "VEGART_FP16_VAE": "0",
    "VEGART_WARMUP": "1",
}


def load_script(name: str) -> ModuleType:
    """Import ``sagemaker/<name>.py`` under a name that cannot clash with anything."""
    module_name = f"vegart_sagemaker_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, SAGEMAKER / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def save_lora(unet_dir: Path, folder: Path, *, zero: bool) -> Path:
    """A LoRA for the UNet in ``unet_dir``, saved as diffusers saves VegaRT's.

    ``zero`` leaves peft's B matrices at zero: a LoRA that loads and fuses but changes nothing,
    the control for "the LoRA changes the picture".
    """
    import torch
    from diffusers import StableDiffusionXLPipeline, UNet2DConditionModel
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    torch.manual_seed(1)
    unet = UNet2DConditionModel.from_pretrained(unet_dir)
    config = LoraConfig(
        r=4,
        lora_alpha=16,
        target_modules=["to_q", "to_k", "to_v", "to_out.0"],
        init_lora_weights=zero,  # True is peft's default: B = 0
    )
    unet.add_adapter(config)
    StableDiffusionXLPipeline.save_lora_weights(
        folder, unet_lora_layers=get_peft_model_state_dict(unet)
    )
    return folder / "pytorch_lora_weights.safetensors"
