"""The cost model's inputs: the dated list prices, the estimates with their bases, what the
benchmarks measured, and what ``template.yaml`` deploys, each read into a typed record."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devkit.functions import ROOT
from devkit.resources import template

PRICES_PATH = ROOT / "benchmarks" / "cost_inputs" / "prices.json"
ESTIMATES_PATH = ROOT / "benchmarks" / "cost_inputs" / "estimates.json"
RESULTS_DIR = ROOT / "benchmarks" / "results"
FUNCTION_RESULTS = "render_function.json"
GPU_RESULTS_GLOB = "gpu_render*.json"
#: The commands that measure what the model reads from RESULTS_DIR.
FUNCTION_COMMAND = (
    ".venv/bin/python benchmarks/bench_render_function.py"
    " --json benchmarks/results/render_function.json"
)
GPU_COMMAND = (
    ".venv/bin/python benchmarks/bench_gpu_render.py"
    " --json benchmarks/results/gpu_render-<gpu>.json"
)


@dataclass(frozen=True)
class Price:
    """One list price, in dollars per ``unit``."""

    usd: float
    unit: str
    source: str


@dataclass(frozen=True)
class InstancePrice:
    usd_per_hour: float
    note: str


@dataclass(frozen=True)
class PriceTable:
    """The list prices, all of one date: rerunning with new prices is editing this table."""

    date: str
    region: str
    status: str
    services: Mapping[str, Price]
    sagemaker_source: str
    instances: Mapping[str, InstancePrice]

    def usd(self, name: str) -> float:
        return self.services[name].usd


@dataclass(frozen=True)
class Estimate:
    """A figure that is neither a price nor measured, and what it rests on."""

    value: float
    basis: str


@dataclass(frozen=True)
class Gpu:
    name: str
    dense_fp16_tflops: float
    memory_gb_s: float
    device_names: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class InstanceGpus:
    gpu: str
    count: int


@dataclass(frozen=True)
class GpuEstimate:
    """How a GPU's render time is estimated until a benchmark measures it."""

    anchor_source: str
    anchor_ms: Mapping[str, float]
    anchor_unet_gpu: str
    anchor_unet_ms: Estimate
    vega_unet_tflop: float
    sdxl_unet_tflop: float
    flop_basis: str
    scale_from: str
    eager_vs_tensorrt: Estimate
    cpu_after_gpu_ms: Estimate


@dataclass(frozen=True)
class Estimates:
    s3_get_ms: Estimate
    s3_put_ms: Estimate
    dynamodb_ms: Estimate
    sagemaker_overhead_ms: Estimate
    authorizer_own_ms: Estimate
    authorizer_calls_per_request: Estimate
    platform_log_bytes: Estimate
    jpeg_bytes: Estimate
    request_bytes: Estimate
    segmind_render_s: Estimate
    gpu: GpuEstimate
    gpus: Mapping[str, Gpu]
    instance_gpus_source: str
    instance_gpus: Mapping[str, InstanceGpus]


@dataclass(frozen=True)
class FunctionFigures:
    """What ``bench_render_function.py --json`` measured."""

    hit_ms: float
    miss_ms: float
    log_bytes_hit: float
    log_bytes_miss: float
    log_bytes_authorizer: float
    measured_on: str
    machine: str
    file: str


@dataclass(frozen=True)
class GpuMeasurement:
    """One GPU's render time for the configuration the stack deploys (``bench_gpu_render``)."""

    device: str
    seconds: float
    configuration: str
    measured_on: str
    file: str


@dataclass(frozen=True)
class Deployment:
    """What ``template.yaml`` decides that an image's cost depends on."""

    render_memory_mb: int
    authorizer_memory_mb: int
    architecture: str
    cache_expiry_days: float
    authorizer_cache_seconds: int
    instance_types: tuple[str, ...]
    default_instance_type: str
    fp16_vae: bool
    compiled: bool


@dataclass(frozen=True)
class Inputs:
    prices: PriceTable
    estimates: Estimates
    function: FunctionFigures
    gpu_measurements: tuple[GpuMeasurement, ...]
    deployment: Deployment


def _read_json(path: Path) -> dict[str, Any]:
    loaded = json.loads(path.read_text())
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return loaded


def _estimate(item: Mapping[str, Any]) -> Estimate:
    return Estimate(float(item["value"]), str(item["basis"]))


def load_prices(path: Path = PRICES_PATH) -> PriceTable:
    data = _read_json(path)
    return PriceTable(
        date=str(data["date"]),
        region=str(data["region"]),
        status=str(data["status"]),
        services={
            name: Price(float(item["usd"]), str(item["unit"]), str(item["source"]))
            for name, item in data["services"].items()
        },
        sagemaker_source=str(data["sagemaker_source"]),
        instances={
            name: InstancePrice(float(item["usd_per_hour"]), str(item.get("note", "")))
            for name, item in data["sagemaker_instances"].items()
        },
    )


def load_estimates(path: Path = ESTIMATES_PATH) -> Estimates:
    data = _read_json(path)
    latency = data["aws_latency_ms"]
    gpu = data["gpu_render"]
    unet = gpu["unet_tflop_per_step"]
    return Estimates(
        s3_get_ms=_estimate(latency["s3_get"]),
        s3_put_ms=_estimate(latency["s3_put"]),
        dynamodb_ms=_estimate(latency["dynamodb_call"]),
        sagemaker_overhead_ms=_estimate(latency["sagemaker_overhead"]),
        authorizer_own_ms=_estimate(data["authorizer_own_ms"]),
        authorizer_calls_per_request=_estimate(data["authorizer_calls_per_request"]),
        platform_log_bytes=_estimate(data["platform_log_bytes"]),
        jpeg_bytes=_estimate(data["jpeg_bytes"]),
        request_bytes=_estimate(data["request_bytes"]),
        segmind_render_s=_estimate(data["segmind_render_s"]),
        gpu=GpuEstimate(
            anchor_source=str(gpu["anchor_source"]),
            anchor_ms={name: float(ms) for name, ms in gpu["anchor_ms"].items()},
            anchor_unet_gpu=str(gpu["anchor_unet_ms"]["gpu"]),
            anchor_unet_ms=_estimate(gpu["anchor_unet_ms"]),
            vega_unet_tflop=float(unet["vega"]),
            sdxl_unet_tflop=float(unet["sdxl"]),
            flop_basis=str(unet["basis"]),
            scale_from=str(gpu["scale_from"]),
            eager_vs_tensorrt=_estimate(gpu["eager_vs_tensorrt"]),
            cpu_after_gpu_ms=_estimate(gpu["cpu_after_gpu_ms"]),
        ),
        gpus={
            name: Gpu(
                name,
                float(item["dense_fp16_tflops"]),
                float(item["memory_gb_s"]),
                tuple(str(device) for device in item["device_names"]),
                str(item["source"]),
            )
            for name, item in data["gpus"].items()
        },
        instance_gpus_source=str(data["instance_gpus_source"]),
        instance_gpus={
            name: InstanceGpus(str(item["gpu"]), int(item["count"]))
            for name, item in data["instance_gpus"].items()
        },
    )


def load_function_figures(results: Path = RESULTS_DIR) -> FunctionFigures:
    path = results / FUNCTION_RESULTS
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run {FUNCTION_COMMAND}")
    data = _read_json(path)
    figures = data["figures"]
    return FunctionFigures(
        hit_ms=float(figures["warm_hit_ms"]),
        miss_ms=float(figures["warm_miss_ms"]),
        log_bytes_hit=float(figures["log_bytes_hit"]),
        log_bytes_miss=float(figures["log_bytes_miss"]),
        log_bytes_authorizer=float(figures["log_bytes_authorizer"]),
        measured_on=str(data["measured_on"]),
        machine=str(data["machine"]),
        file=path.name,
    )


def load_gpu_measurements(
    deployment: Deployment, results: Path = RESULTS_DIR
) -> tuple[GpuMeasurement, ...]:
    """Every real (not smoke) GPU run's median for the configuration the stack deploys."""
    found = []
    for path in sorted(results.glob(GPU_RESULTS_GLOB)):
        data = _read_json(path)
        figures = data["figures"]
        if figures.get("smoke", True):
            continue
        for row in figures["configurations"]:
            if bool(row["compiled"]) == deployment.compiled and (
                bool(row["fp16_vae"]) == deployment.fp16_vae
            ):
                found.append(
                    GpuMeasurement(
                        device=str(figures["device"]),
                        seconds=float(row["median_ms"]) / 1000,
                        configuration=str(row["label"]),
                        measured_on=str(data["measured_on"]),
                        file=path.name,
                    )
                )
    return tuple(found)


def _truthy(value: object) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def load_deployment(loaded: Mapping[str, Any] | None = None) -> Deployment:
    """Read from ``template.yaml`` (through the dev kit's CloudFormation-aware loader)."""
    doc = loaded if loaded is not None else template()
    parameters = doc["Parameters"]
    resources = doc["Resources"]
    shared = doc.get("Globals", {}).get("Function", {})
    architectures = shared.get("Architectures", ["x86_64"])

    def memory_mb(function: str) -> int:
        return int(
            resources[function]["Properties"].get("MemorySize", shared.get("MemorySize", 128))
        )

    model_env: dict[str, Any] = {}
    for resource in resources.values():
        if resource.get("Type") == "AWS::SageMaker::Model":
            container = resource["Properties"].get("PrimaryContainer", {})
            model_env = container.get("Environment", {})
            break
    compile_mode = str(model_env.get("VEGART_COMPILE", "0")).strip().lower()
    instance_types = parameters["SageMakerInstanceType"]
    return Deployment(
        render_memory_mb=memory_mb("RenderFunction"),
        authorizer_memory_mb=memory_mb("AuthorizerFunction"),
        architecture=str(architectures[0]),
        cache_expiry_days=float(parameters["CacheExpiryDays"]["Default"]),
        authorizer_cache_seconds=int(parameters["AuthorizerCacheSeconds"]["Default"]),
        instance_types=tuple(str(name) for name in instance_types["AllowedValues"]),
        default_instance_type=str(instance_types["Default"]),
        fp16_vae=_truthy(model_env.get("VEGART_FP16_VAE", "0")),
        compiled=compile_mode not in ("", "0", "false", "no", "off"),
    )


def load_inputs(
    prices: Path = PRICES_PATH, estimates: Path = ESTIMATES_PATH, results: Path = RESULTS_DIR
) -> Inputs:
    deployment = load_deployment()
    return Inputs(
        prices=load_prices(prices),
        estimates=load_estimates(estimates),
        function=load_function_figures(results),
        gpu_measurements=load_gpu_measurements(deployment, results),
        deployment=deployment,
    )
