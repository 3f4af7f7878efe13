"""Segmind-VegaRT on SageMaker: the Hugging Face inference toolkit's hooks.

The toolkit imports this module from ``code/`` in ``model.tar.gz`` and calls, per request,
``input_fn`` -> ``predict_fn`` -> ``output_fn``; ``model_fn`` once per worker at start. The
model directory (``/opt/ml/model``) is laid out by ``sagemaker/package.py``::

    model_index.json, scheduler/, text_encoder/, text_encoder_2/, tokenizer/, tokenizer_2/,
    unet/, vae/     Segmind-Vega in diffusers' layout (an SDXL pipeline)
    lora/           the VegaRT LCM-LoRA: one *.safetensors file
    vae_fp16/       optional: an fp16-safe SDXL VAE, used when VEGART_FP16_VAE=1
    code/           this file, render_request.py, render_settings.py, requirements.txt

The recipe is the model card's: Vega in fp16 (fp32 on a CPU), ``LCMScheduler``, the LoRA
loaded and fused into the UNet, ``guidance_scale=0`` (one UNet pass a step), and a seeded
``torch.Generator``, so that a seed always gives the same picture on the same hardware.

Hook signatures are exactly the toolkit's without its optional ``context``: the toolkit
counts parameters to decide whether to pass one, so no hook may grow an extra argument.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from diffusers import AutoencoderKL, LCMScheduler, StableDiffusionXLPipeline
from render_request import MAX_SEED, RANDOM_SEED, BadRequest, RenderRequest, decode_body
from render_request import parse_request as _parse_request
from render_settings import Settings

logger = logging.getLogger(__name__)

LORA_DIR = "lora"
FP16_VAE_DIR = "vae_fp16"
JPEG = "image/jpeg"
JSON = "application/json"
#: The model card allows 1.0 to 2.0 too; at 0 (or 1) the pipeline makes one UNet pass a step.
GUIDANCE_SCALE = 0.0
WARMUP_PROMPT = "a lighthouse at dawn, watercolor"


@dataclass
class VegaModel:
    """A ready pipeline and what it was made with; ``lock`` serialises renders on it.

    The toolkit runs one model per worker process, but the local server is threaded, and a
    diffusers pipeline (its scheduler above all) is not safe to call from two threads.
    """

    pipe: StableDiffusionXLPipeline
    settings: Settings
    device: torch.device
    dtype: torch.dtype
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class Rendered:
    """One render: its JPEG and the seed that made it (chosen here when the request said -1)."""

    jpeg: bytes
    seed: int
    width: int
    height: int


def model_fn(model_dir: str) -> VegaModel:
    """Toolkit hook: load the model directory with the settings of the environment."""
    return load_model(Path(model_dir), Settings.from_env())


def input_fn(input_data: str | bytes, content_type: str) -> dict[str, Any]:
    """Toolkit hook: the body as a JSON object (whatever ``content_type`` says).

    Field rules are checked in :func:`predict_fn`, against the loaded model's size limits.
    """
    del content_type  # the gateway always sends JSON; a body that is not JSON is a 400
    return decode_body(input_data)


def predict_fn(data: dict[str, Any], model: VegaModel) -> Rendered:
    """Toolkit hook: validate the request, then render it and encode the JPEG."""
    request = parse_request(data, model)
    try:
        return render(model, request)
    except Exception:
        # The toolkit keeps only str(exception); the traceback must reach the logs here.
        logger.exception("render failed")
        raise


def output_fn(prediction: Rendered, accept: str) -> bytes:
    """Toolkit hook: JPEG bytes for ``Accept: image/jpeg``, else ``{"image", "seed"}`` JSON.

    The toolkit answers with ``Content-Type`` equal to ``accept`` and turns a missing or
    ``*/*`` Accept into ``application/json`` before calling this.
    """
    if wants_jpeg(accept):
        return prediction.jpeg
    body = {"image": base64.b64encode(prediction.jpeg).decode("ascii"), "seed": prediction.seed}
    return json.dumps(body).encode()


def wants_jpeg(accept: str | None) -> bool:
    """Whether an Accept header lists ``image/jpeg`` (parameters such as ``q`` ignored)."""
    media = (part.split(";", 1)[0].strip().lower() for part in (accept or "").split(","))
    return JPEG in media


def parse_request(data: dict[str, Any], model: VegaModel) -> RenderRequest:
    """The request's fields, checked against this deployment's limits."""
    return _parse_request(data, model.settings.limits)


def resolve_device(name: str) -> torch.device:
    """``auto`` is the first GPU when CUDA is there, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def load_model(
    model_dir: Path, settings: Settings, *, dtype: torch.dtype | None = None
) -> VegaModel:
    """Load, fuse, optimise and warm up the pipeline; the work behind :func:`model_fn`."""
    device = resolve_device(settings.device)
    if dtype is None:
        dtype = torch.float16 if device.type == "cuda" else torch.float32
    pipe = load_pipeline(model_dir, settings, device, dtype)
    model = prepare(pipe, settings, device, dtype)
    if settings.warmup:
        warm_up(model)
    return model


def find_lora(lora_dir: Path) -> Path:
    """The one LoRA weights file of ``lora/``; anything else is a packaging mistake."""
    files = sorted(lora_dir.glob("*.safetensors")) if lora_dir.is_dir() else []
    if len(files) != 1:
        raise FileNotFoundError(
            f"{lora_dir} must hold exactly one .safetensors file (the VegaRT LoRA); "
            f"found {[path.name for path in files]}"
        )
    return files[0]


def load_pipeline(
    model_dir: Path, settings: Settings, device: torch.device, dtype: torch.dtype
) -> StableDiffusionXLPipeline:
    """Vega from disk only, the LCM scheduler, and the VegaRT LoRA fused into the UNet.

    The LoRA is fused and then unloaded: its weights live on in the UNet's own, and no peft
    layer is left to slow each step down or to get in torch.compile's way.
    """
    lora = find_lora(model_dir / LORA_DIR)  # before minutes of loading, not after
    extra: dict[str, Any] = {}
    if settings.fp16_vae and (model_dir / FP16_VAE_DIR).is_dir():
        extra["vae"] = AutoencoderKL.from_pretrained(
            model_dir / FP16_VAE_DIR, torch_dtype=dtype, local_files_only=True
        )
    elif settings.fp16_vae:
        # An archive packaged without --fp16-vae must still serve (slower, VAE in fp32):
        # refusing to load would roll the endpoint back after its whole start-up wait.
        logger.warning("VEGART_FP16_VAE is set but %s/ is missing: using SDXL's VAE", FP16_VAE_DIR)
    pipe = StableDiffusionXLPipeline.from_pretrained(
        model_dir, torch_dtype=dtype, local_files_only=True, **extra
    )
    pipe.to(device)  # before the LoRA, so that fusing happens on the GPU
    pipe.scheduler = LCMScheduler.from_config(pipe.scheduler.config)
    pipe.load_lora_weights(str(lora.parent), weight_name=lora.name, adapter_name="vegart")
    pipe.fuse_lora()
    pipe.unload_lora_weights()
    return pipe


def prepare(
    pipe: StableDiffusionXLPipeline,
    settings: Settings,
    device: torch.device,
    dtype: torch.dtype,
    *,
    compile_backend: str = "inductor",
) -> VegaModel:
    """Make a loaded pipeline ready to serve: device, VAE precision, layout and compilation.

    Shared with ``benchmarks/bench_gpu_render.py``, which builds the pipeline from configs
    with random weights and must time exactly what the server runs.
    """
    pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    if dtype == torch.float16 and pipe.vae.config.force_upcast:
        # SDXL's own VAE overflows in fp16. diffusers would cast its weights to fp32 and back
        # on every call; keeping it in fp32 once costs 170 MB and no time.
        keep_vae_in_fp32(pipe.vae)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        pipe.unet.to(memory_format=torch.channels_last)
        pipe.vae.to(memory_format=torch.channels_last)
    if settings.compile_mode:
        compile_pipeline(pipe, settings.compile_mode, backend=compile_backend)
    return VegaModel(pipe=pipe, settings=settings, device=device, dtype=dtype)


def keep_vae_in_fp32(vae: AutoencoderKL) -> None:
    """Hold the VAE in fp32 and cast the (fp16) latents on their way into ``decode``."""
    vae.to(torch.float32)
    decode: Callable[..., Any] = vae.decode

    def decode_fp32(latents: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        return decode(latents.to(torch.float32), *args, **kwargs)

    vae.decode = decode_fp32


def compile_pipeline(pipe: StableDiffusionXLPipeline, mode: str, *, backend: str) -> None:
    """``torch.compile`` the UNet and the VAE decode, as diffusers' speed guide does.

    Compilation happens on the first call (the warm-up); ``backend`` other than inductor
    (``"eager"``) lets a CPU check that both trace whole without paying for code generation.
    """
    options: dict[str, Any] = {"fullgraph": True, "backend": backend}
    if backend == "inductor":
        options["mode"] = mode
    pipe.unet = torch.compile(pipe.unet, **options)
    pipe.vae.decode = torch.compile(pipe.vae.decode, **options)


def render(model: VegaModel, request: RenderRequest) -> Rendered:
    """Render one request with a seeded generator and encode it as a JPEG."""
    seed = request.seed if request.seed != RANDOM_SEED else secrets.randbelow(MAX_SEED + 1)
    generator = torch.Generator(device=model.device).manual_seed(seed)
    with model.lock, torch.inference_mode():
        image = model.pipe(
            prompt=request.prompt,
            num_inference_steps=request.num_inference_steps,
            guidance_scale=GUIDANCE_SCALE,
            width=request.img_width,
            height=request.img_height,
            generator=generator,
            output_type="pil",
        ).images[0]
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=model.settings.jpeg_quality)
    return Rendered(buffer.getvalue(), seed, image.width, image.height)


def warm_up(model: VegaModel) -> Rendered:
    """One render at the default size and steps, so that the first client is not the one
    who pays for CUDA's start-up and torch.compile's compilation."""
    size = model.settings.limits.default_size
    return render(model, RenderRequest(WARMUP_PROMPT, 0, img_width=size, img_height=size))


__all__ = [
    "BadRequest",
    "Rendered",
    "VegaModel",
    "input_fn",
    "load_model",
    "model_fn",
    "output_fn",
    "predict_fn",
]
