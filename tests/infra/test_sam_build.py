"""``sam build`` as the README runs it, and what it leaves for ``sam deploy`` to upload.

The real SAM CLI builds the real template once for this module: the layer through
layers/shared/Makefile (pip fetching wheels for the functions' runtime, whatever Python runs
the build) and every function through functions/Makefile. An operator's machine has no
Python 3.13 and maybe no Docker, so the build gets neither: no container, a Docker host that
does not exist, no AWS credentials or region. pip reaches PyPI (or its cache).

The SAM CLI pins boto3 and cfn-lint of its own, which conflict with the project's, so it lives
in a virtual environment of its own, ``.venv/sam-cli``, that ``make venv`` installs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from tests.helpers.template import REPO_ROOT, TEMPLATE_PATH, load_template, resources_of_type

SAM = REPO_ROOT / ".venv" / "sam-cli" / "bin" / "sam"
#: The release the docs name as tested; the Makefile installs this one.
SAM_CLI_VERSION = "1.170.0"
#: A first build downloads the layer's wheels; the pytest-timeout is above the build's own.
BUILD_SECONDS = 540
#: Lambda's limit on a function and all its layers, unzipped.
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024
#: What the layer must carry besides vegart: requirements.txt's packages and the Tracer's SDK.
LAYER_PACKAGES = ("aws_lambda_powertools", "requests", "aws_xray_sdk", "wrapt")
#: The runtime's own AWS SDK: a copy in the layer would come first on the path, beside (or
#: instead of) the runtime's, and weighs three quarters of the layer.
RUNTIME_SDK = ("boto3", "botocore", "s3transfer")
#: The repository's development side and build files: none may reach Lambda, where a copy of
#: the repository (or of a whole CodeUri's folder) would put them at an artifact's top level or
#: beside the layer's packages.
DEV_ONLY = {
    "tests", "devkit", "local_stack", "mock_server", "benchmarks", "admin", "vegart_admin",
    "sagemaker", "docs", "events", "scripts", "functions", "layers", ".venv", ".git",
    ".aws-sam", "Makefile", "requirements.txt", "requirements-tracing.txt", "pyproject.toml",
    "template.yaml",
}  # fmt: skip
#: Credentials and profiles that could make a build pass here and fail elsewhere.
AWS_IDENTITY = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
)  # fmt: skip


@dataclass(frozen=True)
class Build:
    """Where ``sam build`` put the artifacts, and the template that points at them."""

    directory: Path
    template: dict[str, Any]

    def artifact(self, logical_id: str) -> Path:
        """The folder the built template uploads for a function or the layer."""
        properties = self.template["Resources"][logical_id]["Properties"]
        uri = properties.get("CodeUri", properties.get("ContentUri"))
        assert isinstance(uri, str), (logical_id, uri)
        return self.directory / uri


def sam_cli() -> Path:
    """The SAM CLI of the tested release, or a failure that says how to get it."""
    remedy = (
        f"run `make venv`: it installs aws-sam-cli=={SAM_CLI_VERSION} into .venv/sam-cli (the "
        "SAM CLI's pins conflict with the project's, so it has an environment of its own)"
    )
    if not os.access(SAM, os.X_OK):
        pytest.fail(f"{SAM.relative_to(REPO_ROOT)} is missing: {remedy}", pytrace=False)
    version = subprocess.run(
        [str(SAM), "--version"], capture_output=True, text=True, timeout=60, check=False
    ).stdout
    if SAM_CLI_VERSION not in version.split():
        pytest.fail(f"{SAM} is {version.strip()!r}, not {SAM_CLI_VERSION}: {remedy}", pytrace=False)
    return SAM


def build_env(scratch: Path) -> dict[str, str]:
    """The caller's environment without anything of AWS's or Docker's that could help."""
    env = {name: value for name, value in os.environ.items() if name not in AWS_IDENTITY}
    env.update(
        SAM_CLI_TELEMETRY="0",
        AWS_CONFIG_FILE=str(scratch / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(scratch / "no-aws-credentials"),
        DOCKER_HOST=f"unix://{scratch / 'no-docker.sock'}",
    )
    return env


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    sam = sam_cli()
    scratch = tmp_path_factory.mktemp("sam")
    # SAM writes its build.toml beside the build folder: both stay in the scratch folder.
    directory = scratch / "build"
    command = [
        str(sam), "build",
        "--template-file", str(TEMPLATE_PATH.relative_to(REPO_ROOT)),
        "--build-dir", str(directory),
    ]  # fmt: skip
    completed = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=build_env(scratch),
        capture_output=True,
        text=True,
        timeout=BUILD_SECONDS,
        check=False,
    )
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-6000:]
    template = json.loads(json.dumps(cfn_yaml.load(str(directory / "template.yaml"))))
    return Build(directory, template)


def function_ids() -> list[str]:
    return sorted(resources_of_type(load_template(), "AWS::Serverless::Function"))


def files_under(root: Path, pattern: str = "*") -> set[str]:
    """The files' paths below ``root`` (names, not contents: the sources may change under a
    developer's editor while the tests run)."""
    return {str(path.relative_to(root)) for path in root.rglob(pattern) if path.is_file()}


def size_of(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


@pytest.mark.timeout(BUILD_SECONDS + 60)
def test_the_built_template_uploads_a_built_folder_for_every_function_and_the_layer(
    build: Build, sam_template: dict[str, Any]
) -> None:
    sources = {
        **resources_of_type(sam_template, "AWS::Serverless::Function"),
        **resources_of_type(sam_template, "AWS::Serverless::LayerVersion"),
    }
    assert set(sources) == {*function_ids(), "SharedLayer"}
    for logical_id in sources:
        artifact = build.artifact(logical_id)
        assert artifact.is_dir(), logical_id
        assert artifact.resolve().is_relative_to(build.directory.resolve()), logical_id


@pytest.mark.timeout(BUILD_SECONDS + 60)
@pytest.mark.parametrize("logical_id", function_ids())
def test_a_function_ships_its_own_modules_and_nothing_else(
    build: Build, sam_template: dict[str, Any], logical_id: str
) -> None:
    properties = sam_template["Resources"][logical_id]["Properties"]
    handler_module = properties["Handler"].rpartition(".")[0] + ".py"
    shipped = files_under(build.artifact(logical_id))
    assert handler_module in shipped
    assert shipped == {path.name for path in (REPO_ROOT / properties["CodeUri"]).glob("*.py")}


@pytest.mark.timeout(BUILD_SECONDS + 60)
def test_the_layer_ships_every_vegart_module_on_lambdas_python_path(build: Build) -> None:
    """Lambda puts a layer's python/ on sys.path: vegart must sit right inside it."""
    layer = build.artifact("SharedLayer")
    assert sorted(path.name for path in layer.iterdir()) == ["python"]
    shipped = files_under(layer / "python" / "vegart")
    assert {"__init__.py", "render/backends/__init__.py", "api/v1.py"} <= shipped
    assert shipped == files_under(REPO_ROOT / "layers" / "shared" / "vegart", "*.py")


@pytest.mark.timeout(BUILD_SECONDS + 60)
def test_the_layer_ships_its_dependencies(build: Build) -> None:
    site = build.artifact("SharedLayer") / "python"
    for package in LAYER_PACKAGES:
        assert (site / package / "__init__.py").is_file(), package


@pytest.mark.timeout(BUILD_SECONDS + 60)
def test_the_layer_leaves_the_aws_sdk_to_the_runtime(build: Build) -> None:
    site = build.artifact("SharedLayer") / "python"
    assert [package for package in RUNTIME_SDK if (site / package).exists()] == []


def lambda_platform(sam_template: dict[str, Any]) -> tuple[str, str]:
    """CPython's tag for the functions' runtime (``313``) and the machine (``aarch64``)."""
    globals_ = sam_template["Globals"]["Function"]
    version = re.fullmatch(r"python(\d)\.(\d+)", globals_["Runtime"])
    assert version, globals_["Runtime"]
    (architecture,) = globals_["Architectures"]
    machine = {"arm64": "aarch64", "x86_64": "x86_64"}[architecture]
    return "".join(version.groups()), machine


@pytest.mark.timeout(BUILD_SECONDS + 60)
def test_native_extensions_are_for_the_functions_runtime(
    build: Build, sam_template: dict[str, Any]
) -> None:
    version, machine = lambda_platform(sam_template)
    site = build.artifact("SharedLayer") / "python"
    wrong = [
        str(path.relative_to(site))
        for path in site.rglob("*.so")
        if not (
            path.name.endswith(".abi3.so") or f"cpython-{version}-{machine}-linux-gnu" in path.name
        )
    ]
    assert not wrong, wrong


@pytest.mark.timeout(BUILD_SECONDS + 60)
def test_every_wheel_is_pure_python_or_for_the_functions_runtime(
    build: Build, sam_template: dict[str, Any]
) -> None:
    """A wheel's tags say what it runs on, native extensions or not (pip records them)."""
    version, machine = lambda_platform(sam_template)
    wheels = list((build.artifact("SharedLayer") / "python").glob("*.dist-info/WHEEL"))
    assert len(wheels) >= len(LAYER_PACKAGES)
    wrong = []
    for wheel in wheels:
        tags = re.findall(r"^Tag: (\S+)$", wheel.read_text(encoding="utf-8"), re.M)
        assert tags, wheel
        for tag in tags:
            interpreter, abi, platform = tag.split("-")
            pure = abi == "none" and platform == "any"
            native = interpreter == f"cp{version}" and abi in {f"cp{version}", "abi3"}
            if not (pure or (native and platform.endswith(machine))):
                wrong.append(f"{wheel.parent.name}: {tag}")
    assert not wrong, wrong


@pytest.mark.timeout(BUILD_SECONDS + 60)
def test_each_function_with_the_layer_fits_in_lambda(build: Build) -> None:
    layer = size_of(build.artifact("SharedLayer"))
    for logical_id in function_ids():
        size = layer + size_of(build.artifact(logical_id))
        assert size < LAMBDA_UNZIPPED_LIMIT_BYTES, (logical_id, size)


@pytest.mark.timeout(BUILD_SECONDS + 60)
@pytest.mark.parametrize("logical_id", [*function_ids(), "SharedLayer"])
def test_nothing_of_the_development_side_is_deployed(build: Build, logical_id: str) -> None:
    artifact = build.artifact(logical_id)
    top_level = [*artifact.iterdir(), *artifact.glob("python/*")]
    leaked = [str(path.relative_to(artifact)) for path in top_level if path.name in DEV_ONLY]
    assert not leaked, leaked


@pytest.mark.timeout(BUILD_SECONDS + 60)
@pytest.mark.parametrize("logical_id", [*function_ids(), "SharedLayer"])
def test_no_bytecode_is_deployed(build: Build, logical_id: str) -> None:
    """Bytecode here would be the build machine's Python's or the tests': the runtime's own
    Python ignores it, so it would only be weight."""
    artifact = build.artifact(logical_id)
    bytecode = [
        str(path.relative_to(artifact))
        for path in artifact.rglob("*")
        if path.name == "__pycache__" or path.suffix == ".pyc"
    ]
    assert not bytecode, bytecode
