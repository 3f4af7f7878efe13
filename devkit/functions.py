"""Loading a function's handler as Lambda does: ``<CodeUri>/<module>.py``, under its own name.

Each function's ``app.py`` is a module of the same name in another folder, so it cannot be
imported by name; Lambda loads it from its code directory, and so do the tests, the
benchmarks and the local stack, through :func:`load_handler`.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = ROOT / "functions"

#: A Lambda handler: the event and the context in, the function's answer out.
Handler = Callable[[dict[str, Any], Any], Any]


def load_module(code_dir: Path, module_file: str = "app", name: str | None = None) -> ModuleType:
    """The module ``code_dir/module_file.py``, imported once under ``name``."""
    module_name = name or f"vegart_function_{code_dir.name}"
    module = sys.modules.get(module_name)
    if module is not None:
        return module
    spec = importlib.util.spec_from_file_location(module_name, code_dir / f"{module_file}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {module_file}.py from {code_dir}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


_cold_starts = itertools.count()


def load_function(name: str) -> ModuleType:
    """``functions/<name>/app.py``, loaded anew as a new instance's cold start loads it.

    Each call reads the settings from the environment as it is now and builds its own
    collaborators: a test that wants other settings sets them and loads the function again.
    """
    return load_module(FUNCTIONS / name, name=f"vegart_function_{name}_{next(_cold_starts)}")


def load_handler(code_dir: Path, handler: str) -> Handler:
    """The handler a template names (``app.lambda_handler``) in a function's code directory."""
    module_file, _, attribute = handler.rpartition(".")
    handler_function: Handler = getattr(load_module(code_dir, module_file), attribute)
    return handler_function
