"""GPU render benchmark: the model server's whole 4-step 1024 x 1024 render, eager and compiled.

    .venv/bin/python benchmarks/bench_gpu_render.py [--runs 10] [--compile-mode default]
    .venv/bin/python benchmarks/bench_gpu_render.py --smoke      # tiny, CPU, seconds
    .venv/bin/python benchmarks/bench_gpu_render.py --json benchmarks/results/gpu_render-a10g.json

It builds Segmind-Vega's full architecture with random weights (the UNet from Vega's config,
SDXL's CLIP-L and OpenCLIP bigG text encoders and VAE: ``sagemaker/random_vega.py``) in fp16
on CUDA; the time a render takes does not depend on the weights. Then it runs exactly what
the SageMaker server runs, ``inference.prepare`` and ``inference.render``: text encoders,
four UNet passes, VAE decode, the PIL image and its JPEG. Each configuration is a fresh
pipeline, warmed up (which compiles, where it does), then timed over ``--runs`` renders.

Configurations: eager and ``torch.compile``d, each with SDXL's VAE (held in fp32, since it
overflows in fp16) and with an fp16-safe VAE (``VEGART_FP16_VAE=1``).

Without CUDA, or with ``--smoke``, the same code runs on the tiny pipeline on the CPU, with
``torch.compile``'s ``eager`` backend (graph capture without code generation), so that a
test can check in seconds that the benchmark and the compile path still work.

``--json PATH`` also writes the rows with the GPU's name. The cost model
(``benchmarks/cost_model.py``) reads every ``benchmarks/results/gpu_render*.json`` and uses a
measured median, for the configuration the stack deploys, in place of its estimate for that
GPU's instance types; smoke runs are written as such and never used.
"""

from __future__ import annotations

import argparse
import gc
import io
import statistics
import sys
import time
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from devkit.bench import table, write_results
from devkit.model_server import use_model_server_code

use_model_server_code()  # the server's modules live outside any package, as in the container

import inference  # noqa: E402
import random_vega  # noqa: E402
import torch  # noqa: E402
from diffusers import AutoencoderKL  # noqa: E402
from diffusers.utils import logging as diffusers_logging  # noqa: E402
from render_request import Limits, RenderRequest  # noqa: E402
from render_settings import Settings  # noqa: E402

STEPS = 4
PROMPT = "a lighthouse at dawn, watercolor, soft light, high detail"


@dataclass(frozen=True)
class Target:
    """Where and how big: the real thing on a GPU, or the tiny smoke run on the CPU."""

    tiny: bool
    device: str
    dtype: torch.dtype
    size: int
    compile_backend: str


@dataclass(frozen=True)
class Result:
    label: str
    compiled: bool
    fp16_vae: bool
    median_ms: float
    p90_ms: float
    min_ms: float
    warmup_s: float
    jpeg_ms: float
    peak_gib: float


def build(target: Target, *, fp16_vae: bool) -> Any:
    pipe = random_vega.build_pipeline(tiny=target.tiny, device=target.device, dtype=target.dtype)
    if fp16_vae:  # the fp16-fix VAE has SDXL's shape; only force_upcast differs
        shape = random_vega.TINY_VAE if target.tiny else random_vega.SDXL_VAE
        with torch.device(target.device):
            pipe.vae = AutoencoderKL(**{**shape, "force_upcast": False}).to(target.dtype)
    return pipe


def measure(
    target: Target, label: str, *, compile_mode: str | None, fp16_vae: bool, runs: int, warmup: int
) -> Result:
    """Build, prepare as the server does, warm up (compiling), then time ``runs`` renders."""
    limits = Limits(min_size=target.size, max_size=target.size, default_size=target.size)
    settings = Settings(device=target.device, compile_mode=compile_mode, fp16_vae=fp16_vae,
                        warmup=True, limits=limits)  # fmt: skip
    pipe = build(target, fp16_vae=fp16_vae)
    model = inference.prepare(
        pipe, settings, torch.device(target.device), target.dtype,
        compile_backend=target.compile_backend,
    )  # fmt: skip
    if target.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    inference.warm_up(model)  # the first call compiles
    for _ in range(warmup):
        inference.warm_up(model)
    warmup_s = time.perf_counter() - started
    request = RenderRequest(PROMPT, 0, STEPS, target.size, target.size)
    samples = []
    for seed in range(runs):
        begun = time.perf_counter()
        rendered = inference.render(model, replace(request, seed=seed))
        samples.append((time.perf_counter() - begun) * 1000)
    jpeg_ms = jpeg_encode_ms(rendered.jpeg, settings.jpeg_quality)
    peak = torch.cuda.max_memory_allocated() / 2**30 if target.device == "cuda" else 0.0
    del model, pipe
    gc.collect()
    if target.device == "cuda":
        torch.cuda.empty_cache()
    samples.sort()
    p90 = samples[min(len(samples) - 1, round(0.9 * (len(samples) - 1)))]
    return Result(label, compile_mode is not None, fp16_vae, statistics.median(samples), p90,
                  samples[0], warmup_s, jpeg_ms, peak)  # fmt: skip


def jpeg_encode_ms(jpeg: bytes, quality: int, repeat: int = 5) -> float:
    """The JPEG step alone (already inside each render's time), for the breakdown."""
    from PIL import Image

    image = Image.open(io.BytesIO(jpeg)).convert("RGB")
    samples = []
    for _ in range(repeat):
        begun = time.perf_counter()
        image.save(io.BytesIO(), format="JPEG", quality=quality)
        samples.append((time.perf_counter() - begun) * 1000)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--smoke", action="store_true", help="tiny pipeline on the CPU")
    parser.add_argument("--runs", type=int, default=10, help="timed renders (median of these)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed renders after the first")
    parser.add_argument("--compile-mode", default="default", help="torch.compile's mode")
    parser.add_argument("--eager-only", action="store_true", help="skip the compiled rows")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    diffusers_logging.set_verbosity_error()
    warnings.filterwarnings("ignore")  # random fp16 weights overflow: the pixels do not matter
    smoke = args.smoke or not torch.cuda.is_available()
    if smoke:
        target = Target(tiny=True, device="cpu", dtype=torch.float32, size=64,
                        compile_backend="eager")  # fmt: skip
        runs, warmup, device_name = min(args.runs, 3), 0, "CPU (smoke: tiny pipeline)"
    else:
        target = Target(tiny=False, device="cuda", dtype=torch.float16, size=1024,
                        compile_backend="inductor")  # fmt: skip
        runs, warmup, device_name = max(args.runs, 10), args.warmup, torch.cuda.get_device_name()
    configs = [("eager", None, False), ("eager", None, True)]
    if not args.eager_only:
        configs += [("compiled", args.compile_mode, False), ("compiled", args.compile_mode, True)]
    results = []
    for kind, mode, fp16_vae in configs:
        vae = "fp16-safe VAE" if fp16_vae else "SDXL VAE in fp32"
        label = f"{kind} ({mode}), {vae}" if mode else f"{kind}, {vae}"
        results.append(
            measure(target, label, compile_mode=mode, fp16_vae=fp16_vae, runs=runs, warmup=warmup)
        )
        print(f"  measured: {label}", file=sys.stderr, flush=True)
    size = f"{target.size} x {target.size}"
    print(f"\n{device_name}: {STEPS} steps at {size}, median of {runs} renders after warm-up; "
          f"torch {torch.__version__}, {inference.__name__} from sagemaker/code\n")  # fmt: skip
    header = ("configuration", "median ms", "p90 ms", "min ms", "warm-up s", "JPEG ms", "peak GiB")
    rows = [
        (r.label, f"{r.median_ms:.1f}", f"{r.p90_ms:.1f}", f"{r.min_ms:.1f}",
         f"{r.warmup_s:.1f}", f"{r.jpeg_ms:.1f}", f"{r.peak_gib:.1f}")
        for r in results
    ]  # fmt: skip
    print(table(header, rows))
    if args.json:
        figures = {
            "device": device_name,
            "smoke": smoke,
            "steps": STEPS,
            "size": target.size,
            "runs": runs,
            "torch": torch.__version__,
            "configurations": [asdict(result) for result in results],
        }
        write_results(args.json, "bench_gpu_render", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
