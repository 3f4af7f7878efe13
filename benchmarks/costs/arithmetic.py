"""The cost model's arithmetic: small functions of plain numbers, in US dollars per image
unless named otherwise, so that a test can check each one against a hand computation."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from .inputs import Estimates, FunctionFigures, Gpu, Inputs

#: The shares of the billed GPU time spent rendering that the tables show.
UTILISATIONS = (0.10, 0.50, 1.00)
#: AWS bills data by the binary gigabyte.
GB = 2**30
#: The hours of a billing month, as AWS counts them for storage.
MONTH_HOURS = 730


def lambda_invocation_usd(
    memory_mb: int, duration_ms: float, gb_second_usd: float, request_usd: float
) -> float:
    """One invocation: its request, and its duration rounded up to the millisecond Lambda bills."""
    billed_s = math.ceil(duration_ms) / 1000
    return memory_mb / 1024 * billed_s * gb_second_usd + request_usd


def data_usd(size_bytes: float, usd_per_gb: float) -> float:
    return size_bytes / GB * usd_per_gb


def storage_usd(size_bytes: float, days: float, usd_per_gb_month: float) -> float:
    """Keeping an object ``days`` (the cache's expiry), prorated by the hour as S3 bills."""
    return size_bytes / GB * usd_per_gb_month * days * 24 / MONTH_HOURS


def images_per_hour(seconds_per_image: float, gpus: int, utilisation: float) -> float:
    """Renders an instance makes in an hour when its GPUs render ``utilisation`` of the time,
    one copy of the model on each GPU rendering one image at a time."""
    return utilisation * 3600 / seconds_per_image * gpus


def gpu_usd_per_image(
    usd_per_hour: float, seconds_per_image: float, gpus: int, utilisation: float
) -> float:
    """The instance's hour shared among the images rendered in it; idle time is paid too."""
    return usd_per_hour / images_per_hour(seconds_per_image, gpus, utilisation)


def break_even_images_per_day(usd_per_hour: float, saving_per_image: float) -> float | None:
    """The daily volume at which an instance billed around the clock costs what Segmind would.

    ``saving_per_image`` is what an image costs less on the GPU than through Segmind, apart
    from the instance's own time; ``None`` when there is no saving to pay the instance with.
    """
    if saving_per_image <= 0:
        return None
    return usd_per_hour * 24 / saving_per_image


def vega_share_of_sdxl(
    anchor_ms: float, anchor_unet_ms: float, vega_unet_tflop: float, sdxl_unet_tflop: float
) -> float:
    """Vega's time as a share of SDXL's: Vega is SDXL with a smaller UNet (the same text
    encoders and VAE), so the anchor's time less the UNet work that Vega does not do."""
    return (anchor_ms - anchor_unet_ms * (1 - vega_unet_tflop / sdxl_unet_tflop)) / anchor_ms


def gpu_slowdown(reference: Gpu, target: Gpu) -> float:
    """How many times longer ``target`` takes than ``reference`` for the same render.

    A 4-step 1024 x 1024 render is neither purely compute-bound (the UNet's convolutions and
    attention) nor purely memory-bound (the VAE decode's large activations), so the ratio is
    the geometric mean of the dense fp16 tensor ratio and the memory bandwidth ratio.
    """
    compute = reference.dense_fp16_tflops / target.dense_fp16_tflops
    memory = reference.memory_gb_s / target.memory_gb_s
    return math.sqrt(compute * memory)


@dataclass(frozen=True)
class RenderTime:
    """Seconds a copy of the model is busy with one image, and where the figure comes from."""

    seconds: float
    measured: bool
    basis: str


def anchored_vega_share(estimates: Estimates) -> float:
    """Vega's share of the anchor's render time, from the estimates' UNet figures."""
    model = estimates.gpu
    return vega_share_of_sdxl(
        model.anchor_ms[model.anchor_unet_gpu],
        model.anchor_unet_ms.value,
        model.vega_unet_tflop,
        model.sdxl_unet_tflop,
    )


def estimated_render_time(gpu: Gpu, estimates: Estimates) -> RenderTime:
    """A GPU's render time from the published anchors (estimate, not measured)."""
    model = estimates.gpu
    share = anchored_vega_share(estimates)
    if gpu.name in model.anchor_ms:
        gpu_ms = model.anchor_ms[gpu.name] * share
        basis = f"SDXL anchor on the {gpu.name}, {model.anchor_ms[gpu.name]:.0f} ms"
    else:
        reference = estimates.gpus[model.scale_from]
        slowdown = gpu_slowdown(reference, gpu)
        gpu_ms = model.anchor_ms[reference.name] * share * slowdown
        basis = f"the {reference.name} anchor x {slowdown:.2f}"
    seconds = (gpu_ms * model.eager_vs_tensorrt.value + model.cpu_after_gpu_ms.value) / 1000
    return RenderTime(seconds, False, f"estimate, not measured: {basis}")


def render_time(gpu: Gpu, inputs: Inputs) -> RenderTime:
    """A measured figure whenever a benchmark result provides one, else the estimate."""
    measured = [m for m in inputs.gpu_measurements if m.device in gpu.device_names]
    if measured:
        latest = max(measured, key=lambda m: m.measured_on)
        basis = f"measured: {latest.file}, {latest.measured_on} ({latest.configuration})"
        return RenderTime(latest.seconds, True, basis)
    return estimated_render_time(gpu, inputs.estimates)


@dataclass(frozen=True)
class Work:
    """What the render function does for one request besides waiting for a backend."""

    own_ms: float
    s3_gets: int
    s3_puts: int
    dynamodb_writes: int
    log_bytes: float


def hit_work(function: FunctionFigures) -> Work:
    """A hit: the cache's GET and the ledger's balance update (vegart.render.service)."""
    return Work(function.hit_ms, 1, 0, 1, function.log_bytes_hit)


def miss_work(function: FunctionFigures) -> Work:
    """A miss: the cache's GET, the lease taken and given back, the debit, the cache's PUT."""
    return Work(function.miss_ms, 1, 1, 3, function.log_bytes_miss)


@dataclass(frozen=True)
class Line:
    """One line of an image's bill, in dollars per image; ``detail`` says what was billed."""

    item: str
    usd: float
    detail: str = ""


def gateway_lines(inputs: Inputs, work: Work, backend_wait_s: float) -> list[Line]:
    """The gateway's share of one image: everything but the backend's own price."""
    prices, estimates, deployment = inputs.prices, inputs.estimates, inputs.deployment
    gb_second = prices.usd(f"lambda_{deployment.architecture.replace('_64', '')}_gb_second")
    platform_logs = estimates.platform_log_bytes.value
    logs_gb = prices.usd("logs_ingested_gb")
    authorizer = estimates.authorizer_calls_per_request.value * (
        lambda_invocation_usd(
            deployment.authorizer_memory_mb,
            estimates.authorizer_own_ms.value + estimates.dynamodb_ms.value,
            gb_second,
            prices.usd("lambda_request"),
        )
        + 0.5 * prices.usd("dynamodb_read_unit")  # one eventually consistent GetItem
        + data_usd(inputs.function.log_bytes_authorizer + platform_logs, logs_gb)
    )
    duration_ms = (
        work.own_ms
        + work.s3_gets * estimates.s3_get_ms.value
        + work.s3_puts * estimates.s3_put_ms.value
        + work.dynamodb_writes * estimates.dynamodb_ms.value
        + backend_wait_s * 1000
    )
    image = estimates.jpeg_bytes.value
    stored = work.s3_puts * storage_usd(
        image, deployment.cache_expiry_days, prices.usd("s3_gb_month")
    )
    return [
        Line("API Gateway request", prices.usd("api_gateway_request")),
        Line("key authorizer (Lambda, GetItem, logs)", authorizer),
        Line(
            "render function",
            lambda_invocation_usd(
                deployment.render_memory_mb, duration_ms, gb_second, prices.usd("lambda_request")
            ),
            f"{deployment.render_memory_mb} MB, {math.ceil(duration_ms)} ms",
        ),
        Line(
            "S3 requests",
            work.s3_gets * prices.usd("s3_get") + work.s3_puts * prices.usd("s3_put"),
        ),
        Line("S3 storage", stored, f"{deployment.cache_expiry_days:g} days"),
        Line("DynamoDB writes", work.dynamodb_writes * prices.usd("dynamodb_write_unit")),
        Line("CloudWatch Logs", data_usd(work.log_bytes + platform_logs, logs_gb)),
        Line("data transfer out (the JPEG)", data_usd(image, prices.usd("egress_gb"))),
    ]


def total(lines: Iterable[Line]) -> float:
    return sum(line.usd for line in lines)


def hit_lines(inputs: Inputs) -> list[Line]:
    return gateway_lines(inputs, hit_work(inputs.function), backend_wait_s=0.0)


def segmind_lines(inputs: Inputs) -> list[Line]:
    wait = inputs.estimates.segmind_render_s.value
    return [
        *gateway_lines(inputs, miss_work(inputs.function), wait),
        Line("Segmind's price", inputs.prices.usd("segmind_render")),
    ]


def gpu_variable_lines(inputs: Inputs, render: RenderTime) -> list[Line]:
    """A GPU render's lines apart from the instance's time: the gateway and SageMaker's data."""
    estimates = inputs.estimates
    wait = render.seconds + estimates.sagemaker_overhead_ms.value / 1000
    moved = estimates.request_bytes.value + estimates.jpeg_bytes.value
    return [
        *gateway_lines(inputs, miss_work(inputs.function), wait),
        Line("SageMaker data in and out", data_usd(moved, inputs.prices.usd("sagemaker_data_gb"))),
    ]


@dataclass(frozen=True)
class GpuRow:
    """One offered instance type: its cost per 1,000 images at each of :data:`UTILISATIONS`."""

    instance: str
    gpu: str
    gpus: int
    usd_per_hour: float
    render: RenderTime
    per_thousand: tuple[float, ...]
    variable_per_image: float
    break_even_per_day: float | None
    capacity_per_day: float

    @property
    def renders_per_minute_per_gpu(self) -> float:
        return 60 / self.render.seconds


def gpu_row(inputs: Inputs, instance: str) -> GpuRow:
    fitted = inputs.estimates.instance_gpus[instance]
    gpu = inputs.estimates.gpus[fitted.gpu]
    usd_per_hour = inputs.prices.instances[instance].usd_per_hour
    render = render_time(gpu, inputs)
    variable = total(gpu_variable_lines(inputs, render))
    saving = total(segmind_lines(inputs)) - variable
    return GpuRow(
        instance=instance,
        gpu=gpu.name,
        gpus=fitted.count,
        usd_per_hour=usd_per_hour,
        render=render,
        per_thousand=tuple(
            1000 * (variable + gpu_usd_per_image(usd_per_hour, render.seconds, fitted.count, u))
            for u in UTILISATIONS
        ),
        variable_per_image=variable,
        break_even_per_day=break_even_images_per_day(usd_per_hour, saving),
        capacity_per_day=images_per_hour(render.seconds, fitted.count, 1.0) * 24,
    )


def gpu_rows(inputs: Inputs) -> list[GpuRow]:
    return [gpu_row(inputs, instance) for instance in inputs.deployment.instance_types]


def around_the_clock_per_thousand(row: GpuRow, images_per_day: float) -> float:
    """Per 1,000 images when the endpoint keeps enough whole instances for the day's volume
    (at least one, as an endpoint that never scales to zero does) and bills each all day."""
    instances = max(1, math.ceil(images_per_day / row.capacity_per_day))
    day = instances * row.usd_per_hour * 24 + images_per_day * row.variable_per_image
    return 1000 * day / images_per_day
