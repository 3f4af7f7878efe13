"""The toolkit hooks of ``sagemaker/code/inference.py`` on a tiny Vega-shaped model (CPU)."""

from __future__ import annotations

import base64
import dataclasses
import inspect
import io
import json
import shutil

import pytest
import torch
from diffusers import LCMScheduler
from PIL import Image
from render_request import BAD_REQUEST_PREFIX, MAX_SEED, BadRequest

JPEG = "image/jpeg"


def invoke(inference, model, body, accept=JPEG, content_type="application/json"):
    """The three hooks in the toolkit's order, as ``transform_fn`` chains them."""
    data = inference.input_fn(
        body if isinstance(body, bytes | str) else json.dumps(body), content_type
    )
    return inference.output_fn(inference.predict_fn(data, model), accept)


def request(**fields):
    return {"prompt": "a lighthouse at dawn", "seed": 7, "num_inference_steps": 4,
            "img_width": 64, "img_height": 64, **fields}  # fmt: skip


def test_model_fn_swaps_in_the_lcm_scheduler(model):
    assert isinstance(model.pipe.scheduler, LCMScheduler)


def test_model_fn_reads_its_settings_from_the_environment(model):
    assert model.device == torch.device("cpu")
    assert model.dtype == torch.float32  # fp16 only on CUDA
    assert model.settings.limits.max_size == 128
    assert model.settings.compile_mode is None


def test_the_lora_is_fused_into_the_unet_and_unloaded(model, zero_lora_model):
    assert not [name for name, _ in model.pipe.unet.named_modules() if "lora" in name]
    fused = model.pipe.unet.state_dict()
    control = zero_lora_model.pipe.unet.state_dict()
    assert fused.keys() == control.keys()  # no peft layer left behind
    changed = [key for key in fused if not torch.equal(fused[key], control[key])]
    assert changed
    assert all(part in key for key in changed for part in ("attn", "to_")), changed[:3]


def test_the_lora_changes_the_picture(inference, model, zero_lora_model):
    assert invoke(inference, model, request()) != invoke(inference, zero_lora_model, request())


def test_the_same_seed_gives_the_same_bytes_and_another_seed_others(inference, model):
    first = invoke(inference, model, request(seed=123))
    assert invoke(inference, model, request(seed=123)) == first
    assert invoke(inference, model, request(seed=124)) != first


@pytest.mark.parametrize("steps", [1, 3, 6])
def test_the_step_count_is_honoured(inference, model, unet_calls, steps):
    invoke(inference, model, request(num_inference_steps=steps))
    assert len(unet_calls) == steps  # guidance 0: one UNet pass a step
    assert len(model.pipe.scheduler.timesteps) == steps


@pytest.mark.parametrize(("width", "height"), [(64, 64), (96, 64), (32, 128)])
def test_a_jpeg_of_the_requested_size_comes_out(inference, model, width, height):
    jpeg = invoke(inference, model, request(img_width=width, img_height=height))
    image = Image.open(io.BytesIO(jpeg))
    assert image.format == "JPEG"
    assert image.size == (width, height)


@pytest.mark.parametrize("accept", ["application/json", "text/plain", "image/png"])
def test_other_accepts_get_json_with_the_base64_jpeg_and_the_seed(inference, model, accept):
    answer = json.loads(invoke(inference, model, request(seed=99), accept=accept))
    assert answer["seed"] == 99
    assert base64.b64decode(answer["image"]) == invoke(inference, model, request(seed=99))


@pytest.mark.parametrize(
    "accept", ["image/jpeg", "image/jpeg; q=0.9", "application/json, image/jpeg"]
)
def test_accept_lists_that_name_jpeg_get_the_bytes(inference, model, accept):
    assert invoke(inference, model, request(), accept=accept)[:3] == b"\xff\xd8\xff"


def test_fields_left_out_take_the_contracts_defaults(inference, model, unet_calls):
    answer = json.loads(invoke(inference, model, {"prompt": "a cat"}, accept="application/json"))
    image = Image.open(io.BytesIO(base64.b64decode(answer["image"])))
    assert image.size == (64, 64)  # VEGART_DEFAULT_SIZE here; 1024 by default
    assert len(unet_calls) == 4
    assert 0 <= answer["seed"] <= MAX_SEED  # seed -1 (absent): the server picked one
    again = invoke(inference, model, {"prompt": "a cat", "seed": answer["seed"]})
    assert again == base64.b64decode(answer["image"])


def test_the_body_may_come_as_bytes_whatever_its_content_type(inference, model):
    body = json.dumps(request()).encode()
    assert invoke(inference, model, body, content_type="application/octet-stream") == invoke(
        inference, model, request()
    )


STEPS = "num_inference_steps"
#: (body, the field at fault, the message after the prefix)
BAD_INPUTS = [
    (b"not json", "body", "Request body must be valid JSON"),
    (b"\xff\xfe", "body", "Request body must be valid JSON"),
    (b"", "body", "Request body must be valid JSON"),
    ("[1, 2]", "body", "Request body must be a JSON object"),
    (b"{}" + b" " * 64 * 1024, "body", "Request body must be at most 64 KiB"),
    ({}, "prompt", "prompt is required"),
    ({"prompt": None}, "prompt", "prompt is required"),
    ({"prompt": 12}, "prompt", "prompt must be a string"),
    ({"prompt": ""}, "prompt", "prompt must not be empty or only white space"),
    ({"prompt": " \n\t"}, "prompt", "prompt must not be empty or only white space"),
    ({"prompt": "x" * 4097}, "prompt", "prompt must be at most 4096 characters"),
    (request(seed="7"), "seed", "seed must be an integer"),
    (request(seed=True), "seed", "seed must be an integer"),
    (request(seed=-2), "seed", f"seed must be from -1 to {MAX_SEED}"),
    (request(seed=MAX_SEED + 1), "seed", f"seed must be from -1 to {MAX_SEED}"),
    (request(num_inference_steps=4.5), STEPS, "num_inference_steps must be an integer"),
    (request(num_inference_steps="4"), STEPS, "num_inference_steps must be an integer"),
    (request(num_inference_steps=0), STEPS, "num_inference_steps must be from 1 to 12"),
    (request(num_inference_steps=13), STEPS, "num_inference_steps must be from 1 to 12"),
    (request(img_width=False), "img_width", "img_width must be an integer"),
    (request(img_width=100), "img_width", "img_width must be a multiple of 8 from 32 to 128"),
    (request(img_width=1024), "img_width", "img_width must be a multiple of 8 from 32 to 128"),
    (request(img_height=24), "img_height", "img_height must be a multiple of 8 from 32 to 128"),
    (request(img_height=[64]), "img_height", "img_height must be an integer"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "field", "message"), BAD_INPUTS)
def test_bad_input_raises_a_bad_request_naming_the_field(
    inference, model, unet_calls, body, field, message
):
    with pytest.raises(BadRequest) as caught:
        invoke(inference, model, body)
    assert caught.value.field == field
    assert caught.value.message == message
    # What the toolkit sends back is str(exception): the prefix tells it from a server fault.
    assert str(caught.value) == BAD_REQUEST_PREFIX + message
    assert isinstance(caught.value, ValueError)
    assert unet_calls == []  # refused before any rendering


def test_the_hooks_take_exactly_the_toolkits_arguments(inference):
    """The toolkit (2.x) counts a hook's parameters to decide whether to pass ``context``;
    a hook with one more or one fewer than these fails the model's start."""
    counts = {
        name: len(inspect.signature(getattr(inference, name)).parameters)
        for name in ("model_fn", "input_fn", "predict_fn", "output_fn")
    }
    assert counts == {"model_fn": 1, "input_fn": 2, "predict_fn": 2, "output_fn": 2}
    assert not hasattr(inference, "transform_fn")  # it cannot be mixed with the other three


def test_the_fp16_safe_vae_is_used_when_the_setting_says_so(inference, model_dir, tiny_settings):
    settings = dataclasses.replace(tiny_settings, fp16_vae=True, warmup=False)
    assert inference.load_model(model_dir, settings).pipe.vae.config.force_upcast is False
    assert inference.load_model(
        model_dir, dataclasses.replace(settings, fp16_vae=False)
    ).pipe.vae.config.force_upcast


def test_a_missing_fp16_vae_falls_back_to_the_archives_own(
    inference, model_dir, tiny_settings, tmp_path
):
    bare = tmp_path / "model"
    shutil.copytree(model_dir, bare, ignore=shutil.ignore_patterns(inference.FP16_VAE_DIR))
    settings = dataclasses.replace(tiny_settings, fp16_vae=True, warmup=False)
    assert inference.load_model(bare, settings).pipe.vae.config.force_upcast


def test_in_fp16_the_sdxl_vae_stays_in_fp32_and_still_renders(inference, model_dir, tiny_settings):
    """On a GPU the pipeline is fp16; this runs the same path on the CPU, which can."""
    fp16 = inference.load_model(model_dir, tiny_settings, dtype=torch.float16)
    assert fp16.pipe.unet.dtype == torch.float16
    assert fp16.pipe.vae.dtype == torch.float32  # SDXL's VAE overflows in fp16
    jpeg = invoke(inference, fp16, request())
    assert Image.open(io.BytesIO(jpeg)).size == (64, 64)


def test_compiled_pipeline_traces_whole_and_renders_the_same(inference, model_dir, tiny_settings):
    """``VEGART_COMPILE``'s path (fullgraph, through the fp32-VAE wrapper), traced with the
    eager backend: inductor's code generation is what a GPU run adds."""
    cpu, fp16 = torch.device("cpu"), torch.float16
    settings = dataclasses.replace(tiny_settings, warmup=False)
    eager = inference.prepare(
        inference.load_pipeline(model_dir, settings, cpu, fp16), settings, cpu, fp16
    )
    compiled_settings = dataclasses.replace(settings, compile_mode="default")
    pipe = inference.load_pipeline(model_dir, compiled_settings, cpu, fp16)
    compiled = inference.prepare(pipe, compiled_settings, cpu, fp16, compile_backend="eager")
    assert invoke(inference, compiled, request()) == invoke(inference, eager, request())


def test_a_model_dir_without_the_lora_does_not_load(inference, base_dir, tiny_settings):
    with pytest.raises(FileNotFoundError, match="lora"):
        inference.load_model(base_dir, tiny_settings)
