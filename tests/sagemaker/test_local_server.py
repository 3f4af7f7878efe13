"""``sagemaker/local_server.py`` answers SageMaker's container contract over real HTTP."""

from __future__ import annotations

import base64
import io
import json
import threading
import urllib.error
import urllib.request

import pytest
from PIL import Image

from tests.helpers.model_server import load_script

BODY = {"prompt": "a lighthouse", "seed": 5, "num_inference_steps": 2,
        "img_width": 64, "img_height": 96}  # fmt: skip


@pytest.fixture(scope="module")
def base_url(inference, model):
    server = load_script("local_server").make_server(inference, model, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def call(url, body=None, headers=None, method=None):
    """(status, headers, body) of one request; errors are answers too."""
    data = body if isinstance(body, bytes | None) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_ping_answers_healthy(base_url):
    status, headers, body = call(f"{base_url}/ping")
    assert status == 200
    assert json.loads(body) == {"status": "Healthy"}
    assert headers["Content-Type"] == "application/json"


def test_invocations_with_accept_jpeg_answer_the_jpeg_bytes(base_url):
    headers = {"Content-Type": "application/json", "Accept": "image/jpeg"}
    status, answer_headers, body = call(f"{base_url}/invocations", BODY, headers)
    assert status == 200
    assert answer_headers["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(body)).size == (64, 96)


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
def test_invocations_without_accept_jpeg_answer_json(base_url, accept):
    headers = {"Content-Type": "application/json"} | ({"Accept": accept} if accept else {})
    status, answer_headers, body = call(f"{base_url}/invocations", BODY, headers)
    assert status == 200
    assert answer_headers["Content-Type"] == "application/json"  # as the toolkit does
    answer = json.loads(body)
    assert answer["seed"] == 5
    assert Image.open(io.BytesIO(base64.b64decode(answer["image"]))).format == "JPEG"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "bad_request: Request body must be valid JSON"),
        ({**BODY, "prompt": ""}, "bad_request: prompt must not be empty or only white space"),
        (
            {**BODY, "img_width": 65},
            "bad_request: img_width must be a multiple of 8 from 32 to 128",
        ),
        (b"\xff\xfe{}", "bad_request: Request body must be valid JSON"),
    ],
)
def test_bad_input_is_a_400_with_the_message(base_url, body, message):
    headers = {"Content-Type": "application/octet-stream", "Accept": "image/jpeg"}
    status, answer_headers, answer = call(f"{base_url}/invocations", body, headers)
    assert status == 400
    assert answer_headers["Content-Type"] == "application/json"
    assert json.loads(answer) == {"code": 400, "type": "BadRequest", "message": message}


def test_a_body_that_is_not_utf8_json_is_a_400_too(base_url):
    headers = {"Content-Type": "application/json", "Accept": "image/jpeg"}
    status, _, answer = call(f"{base_url}/invocations", b"\xff\xfe", headers)
    assert status == 400
    assert json.loads(answer)["type"] == "BadRequest"


def test_unknown_paths_are_404(base_url):
    assert call(f"{base_url}/nowhere")[0] == 404
    assert call(f"{base_url}/ping", b"{}", method="POST")[0] == 404


# -- the gateway's SageMaker backend, through boto3, against this server ----------------------


def render_through_runtime_api(base_url, steps):
    """The gateway's SageMaker backend, with boto3 pointed at this server."""
    import boto3

    from vegart.deadline import Deadline
    from vegart.render.backends.sagemaker import SageMakerBackend
    from vegart.render.spec import RenderSpec

    client = boto3.client(
        "sagemaker-runtime", endpoint_url=base_url, region_name="us-east-1",
        aws_access_key_id="local", aws_secret_access_key="local",
    )  # fmt: skip
    spec = RenderSpec(
        backend="sagemaker", model="segmind-vega-rt-v1", prompt="a lighthouse", seed=5,
        num_inference_steps=steps, img_width=64, img_height=96,
    )  # fmt: skip
    return SageMakerBackend("vegart-local", lambda _: client).render(spec, Deadline.after(30))


def test_the_gateways_backend_renders_through_the_runtime_api(base_url):
    image = render_through_runtime_api(base_url, steps=2)
    assert Image.open(io.BytesIO(image)).size == (64, 96)


def test_a_refused_input_reaches_the_gateway_as_its_400(base_url):
    from vegart.errors import BadRequest

    with pytest.raises(BadRequest) as raised:
        render_through_runtime_api(base_url, steps=99)
    assert "num_inference_steps" in raised.value.message
    assert not raised.value.message.startswith("bad_request")


def test_the_local_stack_renders_through_the_model_server(base_url):
    """``VEGART_BACKEND=sagemaker SAGEMAKER_LOCAL_URL=... make run``: the gateway's SageMaker
    backend, through boto3, against this server. The tiny model here renders at most 128 px,
    so the gateway's 1024 x 1024 request comes back as the model's own 400, naming the field:
    the whole path, error contract included, end to end."""
    import requests

    from devkit.stack_process import start, stop

    stack = start(env={"VEGART_BACKEND": "sagemaker", "SAGEMAKER_LOCAL_URL": base_url})
    try:
        assert stack.backend == "sagemaker"
        answer = requests.post(
            stack.render_url, json={"prompt": "a lighthouse", "seed": 5},
            headers={"x-api-key": stack.api_key}, timeout=60,
        )  # fmt: skip
        assert answer.status_code == 400
        assert "img_width" in answer.json()["error"]
    finally:
        stop(stack)
