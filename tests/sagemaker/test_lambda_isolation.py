"""The model server is its own deployable: the Lambda side never imports torch or diffusers.

A Lambda package has 250 MB for everything; torch alone is several times that. A fresh
interpreter imports every module of the shared layer and every function's handler, as a
cold start would, and then lists what came in with them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from devkit.functions import ROOT
from tests.helpers.deployment import TEST_ENV

#: Top-level modules that belong to the model server only.
MODEL_SERVER_ONLY = {
    "torch", "diffusers", "transformers", "peft", "accelerate", "safetensors",
    "huggingface_hub", "tokenizers", "inference", "render_request", "render_settings",
}  # fmt: skip

PROBE = """
import importlib, importlib.util, json, pathlib, pkgutil, sys
import vegart
loaded = [vegart.__name__]
for info in pkgutil.walk_packages(vegart.__path__, "vegart."):
    importlib.import_module(info.name)
    loaded.append(info.name)
for app in sorted(pathlib.Path("functions").glob("*/app.py")):
    name = "function_" + app.parent.name
    spec = importlib.util.spec_from_file_location(name, app)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    loaded.append(name)
print(json.dumps({"loaded": loaded, "modules": sorted(sys.modules)}))
"""


def test_importing_the_whole_lambda_side_imports_no_model_server_module():
    completed = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT, env={**TEST_ENV, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads(completed.stdout.splitlines()[-1])
    functions = {path.parent.name for path in (ROOT / "functions").glob("*/app.py")}
    assert {f"function_{name}" for name in functions} <= set(report["loaded"])
    assert {"vegart.render.service", "vegart.render.backends.segmind"} <= set(report["loaded"])
    heavy = {name for name in report["modules"] if name.split(".")[0] in MODEL_SERVER_ONLY}
    assert heavy == set()


def test_the_layer_and_functions_name_no_model_server_dependency():
    texts = [ROOT / "layers" / "shared" / "requirements.txt"]
    texts += sorted(ROOT.glob("functions/*/requirements.txt"))
    for path in texts:
        lines = Path(path).read_text().lower().splitlines()
        named = {line.split("=")[0].split("<")[0].split(">")[0].strip() for line in lines}
        assert not named & {"torch", "diffusers", "transformers", "peft"}, path
