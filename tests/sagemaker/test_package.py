"""``sagemaker/package.py``: which files it takes, the archive it lays out, and that the
archive, unpacked, is served by ``local_server.py`` as a SageMaker container would."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import urllib.request

import boto3
import pytest
from PIL import Image

from devkit.functions import ROOT
from devkit.moto import in_process_aws
from tests.helpers.model_server import SAGEMAKER, TINY_ENV, load_script

CODE_MEMBERS = {
    "code/inference.py",
    "code/render_request.py",
    "code/render_settings.py",
    "code/requirements.txt",
}


@pytest.fixture(scope="module")
def package():
    return load_script("package")


#: A listing shaped like a diffusers repository on the Hub, with what must be left behind.
HUB_LISTING = [
    ".gitattributes",
    "README.md",
    "model_index.json",
    "segmind-vega.safetensors",  # a single-file checkpoint beside the diffusers layout
    "images/sample.png",
    "scheduler/scheduler_config.json",
    "text_encoder/config.json",
    "text_encoder/model.safetensors",
    "text_encoder/pytorch_model.bin",
    "text_encoder_2/config.json",
    "text_encoder_2/model.fp16.safetensors",
    "text_encoder_2/pytorch_model.bin",
    "tokenizer/merges.txt",
    "tokenizer/special_tokens_map.json",
    "tokenizer/tokenizer_config.json",
    "tokenizer/vocab.json",
    "tokenizer_2/merges.txt",
    "tokenizer_2/tokenizer_config.json",
    "tokenizer_2/vocab.json",
    "unet/config.json",
    "unet/diffusion_pytorch_model.safetensors.index.json",
    "unet/diffusion_pytorch_model-00001-of-00002.safetensors",
    "unet/diffusion_pytorch_model-00002-of-00002.safetensors",
    "unet/diffusion_pytorch_model.fp16.safetensors",
    "unet/diffusion_pytorch_model.onnx",
    "vae/config.json",
    "vae/diffusion_pytorch_model.safetensors",
    "vae/diffusion_pytorch_model.bin",
]


def test_the_base_selection_takes_one_plain_copy_of_each_component(package):
    assert package.select_base_files(HUB_LISTING) == sorted([
        "model_index.json",
        "scheduler/scheduler_config.json",
        "text_encoder/config.json",
        "text_encoder/model.safetensors",
        "text_encoder_2/config.json",
        "text_encoder_2/pytorch_model.bin",  # the only plain weights there
        "tokenizer/merges.txt",
        "tokenizer/special_tokens_map.json",
        "tokenizer/tokenizer_config.json",
        "tokenizer/vocab.json",
        "tokenizer_2/merges.txt",
        "tokenizer_2/tokenizer_config.json",
        "tokenizer_2/vocab.json",
        "unet/config.json",
        "unet/diffusion_pytorch_model-00001-of-00002.safetensors",
        "unet/diffusion_pytorch_model-00002-of-00002.safetensors",
        "unet/diffusion_pytorch_model.safetensors.index.json",
        "vae/config.json",
        "vae/diffusion_pytorch_model.safetensors",
    ])  # fmt: skip


@pytest.mark.parametrize(
    ("listing", "message"),
    [
        (["unet/config.json"], "no model_index.json"),
        ([name for name in HUB_LISTING if not name.startswith("unet/diffusion")], "unet/"),
    ],
)
def test_a_repository_without_what_is_needed_is_refused(package, listing, message):
    with pytest.raises(package.PackagingError, match=message):
        package.select_base_files(listing)


def test_the_lora_and_vae_selections(package):
    lora = ["README.md", "pytorch_lora_weights.safetensors", "other.safetensors"]
    assert package.select_lora_file(lora) == "pytorch_lora_weights.safetensors"
    assert package.select_lora_file(["README.md", "vegart.safetensors"]) == "vegart.safetensors"
    with pytest.raises(package.PackagingError):
        package.select_lora_file(["a.safetensors", "b.safetensors"])
    vae = ["config.json", "diffusion_pytorch_model.bin", "diffusion_pytorch_model.safetensors",
           "sdxl_vae.safetensors", "sdxl.vae.safetensors"]  # fmt: skip
    assert package.select_vae_files(vae) == ["config.json", "diffusion_pytorch_model.safetensors"]
    with pytest.raises(package.PackagingError):
        package.select_vae_files(["sdxl_vae.safetensors"])


@pytest.fixture(scope="module")
def tarball(package, base_dir, model_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("dist")
    download = shutil.copytree(base_dir, work / "vega")  # as snapshot_download leaves it
    (download / ".cache" / "huggingface").mkdir(parents=True)  # its local_dir metadata
    (download / ".cache" / "huggingface" / "junk").write_text("left out")
    out = work / "model.tar.gz"
    members = package.build_model_tarball(
        out,
        base_dir=download,
        lora_file=model_dir / "lora" / "pytorch_lora_weights.safetensors",
        fp16_vae_dir=model_dir / "vae_fp16",
    )
    return out, members


def test_the_tarball_has_the_model_at_its_root_the_lora_and_vae_beside_and_code(tarball):
    path, members = tarball
    with tarfile.open(path, "r:gz") as tar:
        infos = tar.getmembers()
    names = {info.name for info in infos}
    assert names == set(members)
    assert all(info.isfile() and info.mtime == 0 and info.uid == 0 for info in infos)
    assert {"model_index.json", "unet/config.json", "vae/config.json",
            "tokenizer/vocab.json", "text_encoder_2/model.safetensors",
            "lora/pytorch_lora_weights.safetensors", "vae_fp16/config.json",
            "vae_fp16/diffusion_pytorch_model.safetensors"} <= names  # fmt: skip
    assert {name for name in names if name.startswith("code/")} == CODE_MEMBERS
    assert not [name for name in names if name.startswith(".") or "/." in name]
    assert not [name for name in names if "__pycache__" in name]


def test_the_layout_refuses_a_folder_that_is_not_a_pipeline(package, tmp_path, model_dir):
    with pytest.raises(package.PackagingError, match=r"model_index\.json"):
        package.build_model_tarball(
            tmp_path / "m.tar.gz",
            base_dir=tmp_path,
            lora_file=model_dir / "lora" / "pytorch_lora_weights.safetensors",
        )


def test_the_unpacked_tarball_is_served_by_the_local_server(tarball, tmp_path):
    """The archive end to end: unpack it as SageMaker does, start the server by path on it
    (its own ``code/``), and render over HTTP."""
    with tarfile.open(tarball[0], "r:gz") as tar:
        tar.extractall(tmp_path / "opt-ml-model", filter="data")
    env = {**os.environ, **TINY_ENV, "PYTHONPATH": ""}
    process = subprocess.Popen(
        [sys.executable, str(SAGEMAKER / "local_server.py"),
         "--model-dir", str(tmp_path / "opt-ml-model"), "--port", "0"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # printed once the model is loaded and warm
        assert "http://127.0.0.1:" in line, line
        url = line.split()[4]
        with urllib.request.urlopen(f"{url}/ping", timeout=10) as ping:
            assert ping.status == 200
        body = json.dumps({"prompt": "a lighthouse", "seed": 3, "img_width": 64,
                           "img_height": 64}).encode()  # fmt: skip
        req = urllib.request.Request(f"{url}/invocations", data=body,
                                     headers={"Content-Type": "application/json"})  # fmt: skip
        with urllib.request.urlopen(req, timeout=30) as response:
            answer = json.loads(response.read())
        assert Image.open(io.BytesIO(base64.b64decode(answer["image"]))).size == (64, 64)
    finally:
        process.terminate()
        process.wait(10)


def test_upload_puts_the_archive_at_the_s3_uri(package, tarball):
    with in_process_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="models")
        assert package.upload(tarball[0], "s3://models/vegart/") == (
            "s3://models/vegart/model.tar.gz"
        )
        head = s3.head_object(Bucket="models", Key="vegart/model.tar.gz")
        assert head["ContentLength"] == tarball[0].stat().st_size
        with pytest.raises(package.PackagingError):
            package.upload(tarball[0], "models/vegart")


def test_the_cli_documents_itself(package):
    completed = subprocess.run(
        [sys.executable, str(SAGEMAKER / "package.py"), "--help"],
        capture_output=True, text=True, check=True, cwd=ROOT, timeout=30,
    )  # fmt: skip
    assert "--s3-uri" in completed.stdout
    assert "--fp16-vae" in completed.stdout
