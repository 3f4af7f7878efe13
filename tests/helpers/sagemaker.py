"""The SageMaker endpoint the backend's tests call, and what a render asks of it."""

from __future__ import annotations

from vegart.render.spec import RenderSpec

ENDPOINT = "vegart-render"
SPEC = RenderSpec(
    backend="sagemaker",
    model="segmind-vega-rt-v1",
    prompt="a fox",
    seed=7,
    num_inference_steps=4,
    img_width=1024,
    img_height=1024,
)
#: The JSON body the backend sends the endpoint for :data:`SPEC`.
EXPECTED_BODY = {
    "prompt": "a fox",
    "seed": 7,
    "num_inference_steps": 4,
    "img_width": 1024,
    "img_height": 1024,
}
