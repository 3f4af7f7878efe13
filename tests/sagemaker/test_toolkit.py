"""The hooks inside the real Hugging Face inference toolkit's handler, where it is installed.

The toolkit pulls librosa, phonemizer and pyctcdecode for its audio pipelines, so the
Makefile installs it apart, without them, into ``.venv/hf-toolkit``
(``sagemaker/requirements-toolkit.txt``); ``devkit.model_server`` makes it importable after
the environment's own packages, so that it can shadow none of them.

What they pin down is the toolkit's own behaviour that the gateway relies on: hooks found
and called with the right arguments, Accept defaulting to JSON, and every exception coming
back as a 400 whose message is ``str(exception)`` (so a bad request carries its prefix).
"""

from __future__ import annotations

import importlib
import io
import json
from typing import Any

import pytest
from PIL import Image

from devkit.model_server import use_inference_toolkit
from tests.helpers.model_server import TINY_ENV

use_inference_toolkit()
handler_service = importlib.import_module("sagemaker_huggingface_inference_toolkit.handler_service")


class Context:
    """What multi-model-server hands the handler: properties in, content type out."""

    def __init__(self, model_dir: str, headers: dict[str, str]) -> None:
        self.system_properties = {"model_dir": model_dir, "batch_size": 1, "gpu_id": 0}
        self.headers = headers
        self.request_processor = [self]
        self.metrics = self
        self.content_type: str | None = None

    def get_request_properties(self) -> dict[str, str]:
        return self.headers

    def add_time(self, *_: Any) -> None:
        pass

    def set_response_content_type(self, _: int, content_type: str) -> None:
        self.content_type = content_type


@pytest.fixture(scope="module")
def service(model_dir):
    with pytest.MonkeyPatch.context() as patch:
        for name, value in TINY_ENV.items():
            patch.setenv(name, value)
        handler = handler_service.HuggingFaceHandlerService()
        handler.initialize(Context(str(model_dir), {}))
    return handler, str(model_dir)


def handle(service, body: dict[str, Any] | bytes, headers: dict[str, str]) -> tuple[Any, Context]:
    handler, model_dir = service
    context = Context(model_dir, headers)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return handler.handle([{"body": data}], context)[0], context


BODY = {"prompt": "a lighthouse", "seed": 1, "num_inference_steps": 2, "img_width": 64,
        "img_height": 64}  # fmt: skip


def test_the_toolkit_loads_the_model_through_model_fn(service):
    assert type(service[0].model).__name__ == "VegaModel"


def test_accept_jpeg_gets_the_jpeg(service):
    answer, context = handle(
        service, BODY, {"Content-Type": "application/json", "Accept": "image/jpeg"}
    )
    assert context.content_type == "image/jpeg"
    assert Image.open(io.BytesIO(answer)).size == (64, 64)


def test_no_accept_gets_json(service):
    answer, context = handle(service, BODY, {"Content-Type": "application/json"})
    assert context.content_type == "application/json"
    assert json.loads(answer)["seed"] == 1


def test_a_bad_request_comes_back_as_a_400_with_the_prefixed_message(service):
    with pytest.raises(Exception) as caught:  # noqa: PT011 (mms's PredictionException)
        handle(service, {**BODY, "img_width": 65}, {"Content-Type": "application/json"})
    assert caught.value.error_code == 400
    assert caught.value.message == ("bad_request: img_width must be a multiple of 8 from 32 to 128")
