"""The SageMaker model server's code, made importable where it is run outside its container.

``sagemaker/`` is a deployable of its own and deliberately not a package (so that it never
shadows the SageMaker SDK): in the container, the toolkit puts ``code/`` on the import path.
The tests and the GPU benchmark do the same through here, the one place that knows the
layout, and reach the inference toolkit that ``make test`` installs apart (without its audio
dependencies) in ``.venv/hf-toolkit``.
"""

from __future__ import annotations

import sys

from .functions import ROOT

MODEL_SERVER = ROOT / "sagemaker"
#: What the container's toolkit puts on the import path: inference.py and its modules.
CODE = MODEL_SERVER / "code"
TOOLKIT = ROOT / ".venv" / "hf-toolkit"


def use_model_server_code() -> None:
    """Make ``inference``, ``render_request``, ``render_settings`` (and the scripts beside
    ``code/``: ``random_vega``, ``package``, ``local_server``) importable, as the container
    makes them."""
    for path in (CODE, MODEL_SERVER):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


def use_inference_toolkit() -> None:
    """Make the Hugging Face inference toolkit importable, after the environment's own
    packages so that it can shadow none of them."""
    if not TOOLKIT.is_dir():
        raise RuntimeError(f"{TOOLKIT} is missing: run `make venv`")
    if str(TOOLKIT) not in sys.path:
        sys.path.append(str(TOOLKIT))
