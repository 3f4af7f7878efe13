"""Package Segmind-Vega + VegaRT as the ``model.tar.gz`` that a SageMaker endpoint serves.

Run by an operator on a machine with internet (and AWS credentials for ``--s3-uri``)::

    pip install -r sagemaker/requirements-package.txt
    python sagemaker/package.py --out build/model.tar.gz [--fp16-vae] [--s3-uri s3://b/k/]

It downloads ``segmind/Segmind-Vega`` (the diffusers layout only: one copy of each weight, in
safetensors where the repository has them) and ``segmind/Segmind-VegaRT`` (the LoRA) with
huggingface_hub, and writes the archive that ``code/inference.py`` expects::

    model_index.json  scheduler/ text_encoder/ text_encoder_2/ tokenizer/ tokenizer_2/ unet/ vae/
    lora/<the VegaRT .safetensors>
    vae_fp16/         only with --fp16-vae: madebyollin/sdxl-vae-fp16-fix (VEGART_FP16_VAE=1)
    code/inference.py code/render_request.py code/render_settings.py code/requirements.txt

Run it by path: this folder is deliberately not a Python package, so that it can never
shadow the ``sagemaker`` SDK. :func:`build_model_tarball` and the ``select_*`` functions do
no I/O beyond the local disk, and are what the tests check.
"""

from __future__ import annotations

import argparse
import sys
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

HERE = Path(__file__).resolve().parent
CODE_DIR = HERE / "code"
VEGA_REPO = "segmind/Segmind-Vega"
VEGART_REPO = "segmind/Segmind-VegaRT"
FP16_VAE_REPO = "madebyollin/sdxl-vae-fp16-fix"
#: The pipeline's components, as model_index.json names them.
COMPONENTS = (
    "scheduler",
    "text_encoder",
    "text_encoder_2",
    "tokenizer",
    "tokenizer_2",
    "unet",
    "vae",
)
#: The files of code/ that the container needs (nothing else there is shipped).
CODE_FILES = ("inference.py", "render_request.py", "render_settings.py", "requirements.txt")
LORA_DIR = "lora"
FP16_VAE_DIR = "vae_fp16"
WEIGHT_SUFFIXES = (".safetensors", ".bin")
CONFIG_SUFFIXES = (".json", ".txt", ".model")


class PackagingError(RuntimeError):
    """The downloaded repositories do not hold what the server needs."""


def _is_variant(name: str) -> bool:
    """``diffusion_pytorch_model.fp16.safetensors`` (and its shards) is a variant;
    ``model.safetensors`` and ``model-00001-of-00002.safetensors`` are not."""
    return "." in PurePosixPath(name).stem


def _weights(names: list[str]) -> list[str]:
    """One copy of a component's weights: safetensors when there are any, else .bin;
    variants (``*.fp16.*``) left out, since the server loads the plain files."""
    plain = [name for name in names if not _is_variant(PurePosixPath(name).name)]
    for suffix in WEIGHT_SUFFIXES:
        chosen = [name for name in plain if name.endswith(suffix)]
        if chosen:
            return chosen
    return []


def select_base_files(files: Iterable[str]) -> list[str]:
    """The files of the Vega repository that make the diffusers pipeline, and no others."""
    files = list(files)
    if "model_index.json" not in files:
        raise PackagingError(f"{VEGA_REPO} has no model_index.json: not a diffusers layout")
    chosen = ["model_index.json"]
    for component in COMPONENTS:
        inside = [name for name in files if PurePosixPath(name).parent.as_posix() == component]
        configs = [name for name in inside if name.endswith(CONFIG_SUFFIXES)]
        weights = _weights(inside)
        if not configs:
            raise PackagingError(f"{VEGA_REPO} has no config in {component}/")
        if component in ("text_encoder", "text_encoder_2", "unet", "vae") and not weights:
            raise PackagingError(f"{VEGA_REPO} has no plain weights in {component}/")
        chosen += configs + weights
    return sorted(chosen)


def select_lora_file(files: Iterable[str]) -> str:
    """The LoRA's weights: the one top-level .safetensors (diffusers' name preferred)."""
    top = [name for name in files if "/" not in name and name.endswith(".safetensors")]
    if "pytorch_lora_weights.safetensors" in top:
        return "pytorch_lora_weights.safetensors"
    if len(top) != 1:
        raise PackagingError(f"{VEGART_REPO}: expected one LoRA .safetensors, found {top}")
    return top[0]


def select_vae_files(files: Iterable[str]) -> list[str]:
    """An AutoencoderKL repository's config and its diffusers-named weights (such
    repositories also carry single-file copies for other tools, left out here)."""
    files = set(files)
    for weights in ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin"):
        if "config.json" in files and weights in files:
            return ["config.json", weights]
    raise PackagingError(f"{FP16_VAE_REPO}: no config.json and diffusers weights at the top")


def _files_under(root: Path) -> Iterator[Path]:
    """Every file below ``root``, sorted, leaving out hidden ones (huggingface_hub's
    ``.cache/``, ``.gitattributes``) and byte-code caches."""
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if path.is_file() and not any(p.startswith(".") or p == "__pycache__" for p in parts):
            yield path


def _normalised(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Owner and times cleared: the same inputs always give the same archive listing."""
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    info.mode = 0o755 if info.isdir() else 0o644
    return info


def build_model_tarball(
    out: Path,
    *,
    base_dir: Path,
    lora_file: Path,
    code_dir: Path = CODE_DIR,
    fp16_vae_dir: Path | None = None,
) -> list[str]:
    """Write ``out`` (gzip tar) in the layout of the module docstring; return its members.

    gzip level 1: the weights are incompressible, and level 9 would only cost minutes.
    """
    if not (base_dir / "model_index.json").is_file():
        raise PackagingError(f"{base_dir} has no model_index.json")
    if lora_file.suffix != ".safetensors" or not lora_file.is_file():
        raise PackagingError(f"{lora_file} is not a .safetensors file")
    entries: list[tuple[Path, str]] = [
        (path, path.relative_to(base_dir).as_posix()) for path in _files_under(base_dir)
    ]
    entries.append((lora_file, f"{LORA_DIR}/{lora_file.name}"))
    if fp16_vae_dir is not None:
        entries += [
            (path, f"{FP16_VAE_DIR}/{path.relative_to(fp16_vae_dir).as_posix()}")
            for path in _files_under(fp16_vae_dir)
        ]
    missing = [name for name in CODE_FILES if not (code_dir / name).is_file()]
    if missing:
        raise PackagingError(f"{code_dir} lacks {missing}")
    entries += [(code_dir / name, f"code/{name}") for name in CODE_FILES]
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, "w:gz", compresslevel=1, dereference=True) as tar:
        for path, name in entries:
            tar.add(path, arcname=name, recursive=False, filter=_normalised)
    return [name for _, name in entries]


@dataclass(frozen=True)
class Sources:
    """Where the downloads landed."""

    base_dir: Path
    lora_file: Path
    fp16_vae_dir: Path | None


def download(work_dir: Path, *, fp16_vae: bool, revision: str | None = None) -> Sources:
    """Fetch only the chosen files of each repository into plain folders under ``work_dir``.

    ``local_dir`` gives real files (the cache would give symbolic links into blobs);
    ``HF_TOKEN`` is honoured by huggingface_hub if a repository needs one.
    """
    # Imported here: the layout and --help need neither huggingface_hub nor boto3.
    from huggingface_hub import HfApi, snapshot_download  # noqa: PLC0415

    api = HfApi()

    def fetch(repo: str, names: list[str], folder: str, rev: str | None = None) -> Path:
        target = work_dir / folder
        snapshot_download(repo, revision=rev, allow_patterns=names, local_dir=target)
        return target

    base = fetch(
        VEGA_REPO,
        select_base_files(api.list_repo_files(VEGA_REPO, revision=revision)),
        "vega",
        revision,
    )
    lora_name = select_lora_file(api.list_repo_files(VEGART_REPO))
    lora_dir = fetch(VEGART_REPO, [lora_name], "vegart")
    vae = None
    if fp16_vae:
        vae = fetch(FP16_VAE_REPO, select_vae_files(api.list_repo_files(FP16_VAE_REPO)), "vae")
    return Sources(base, lora_dir / lora_name, vae)


def upload(path: Path, s3_uri: str) -> str:
    """Upload to ``s3://bucket/key`` (a trailing ``/`` appends the file's name)."""
    import boto3  # noqa: PLC0415

    if not s3_uri.startswith("s3://") or "/" not in s3_uri.removeprefix("s3://"):
        raise PackagingError(f"--s3-uri must look like s3://bucket/key; got {s3_uri!r}")
    bucket, _, key = s3_uri.removeprefix("s3://").partition("/")
    if not key or key.endswith("/"):
        key += path.name
    boto3.client("s3").upload_file(str(path), bucket, key)
    return f"s3://{bucket}/{key}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=Path("build/model.tar.gz"))
    parser.add_argument("--work-dir", type=Path, help="keep the downloads here (default: temp)")
    parser.add_argument("--revision", help="a commit of segmind/Segmind-Vega to pin")
    parser.add_argument(
        "--fp16-vae", action="store_true", help=f"add {FP16_VAE_REPO} as {FP16_VAE_DIR}/"
    )
    parser.add_argument("--s3-uri", help="upload the archive here, e.g. s3://bucket/vegart/")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        work_dir = args.work_dir or Path(scratch)
        sources = download(work_dir, fp16_vae=args.fp16_vae, revision=args.revision)
        members = build_model_tarball(
            args.out,
            base_dir=sources.base_dir,
            lora_file=sources.lora_file,
            fp16_vae_dir=sources.fp16_vae_dir,
        )
    print(f"wrote {args.out} ({len(members)} files, {args.out.stat().st_size / 2**20:.0f} MiB)")
    if args.s3_uri:
        print(f"uploaded {upload(args.out, args.s3_uri)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
