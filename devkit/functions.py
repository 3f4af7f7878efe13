"""Loading a function's handler as Lambda does: ``<CodeUri>/<module>.py``, under its own name.

Each function's ``app.py`` is a module of the same name in another folder, so it cannot be
imported by name; Lambda loads it from its code directory, and so do the tests, the
benchmarks and the local stack, through :func:`load_handler`.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
import threading
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


class InstancePool:
    """A function's instances, each handling one event at a time, as Lambda runs them.

    A Lambda instance never sees two events at once, and the functions rely on it: the
    Powertools resolver keeps the current event on the module's ``app``. A server that calls
    one loaded module from many threads would hand one request's event to another's handler,
    so an event that finds every instance busy gets a new one (a cold start, its own module),
    and an instance goes back to the idle ones when its event is answered. Instances share
    one process here, so :func:`share_aws_models` keeps their cold starts cheap.
    """

    def __init__(self, code_dir: Path, handler: str) -> None:
        self.code_dir = code_dir
        self.module_file, _, self.attribute = handler.rpartition(".")
        self._idle: list[Handler] = []
        self._lock = threading.Lock()
        #: Instances started so far (cold starts).
        self.started = 0

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        instance = self._take()
        try:
            return instance(event, context)
        finally:
            with self._lock:
                self._idle.append(instance)

    def _take(self) -> Handler:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            self.started += 1
            number = self.started
        name = f"vegart_function_{self.code_dir.name}_instance_{number}"
        module = load_module(self.code_dir, self.module_file, name=name)
        instance: Handler = getattr(module, self.attribute)
        return instance


def share_aws_models(set_attribute: Callable[[Any, str, Any], None] = setattr) -> None:
    """One botocore data loader for every session of this process.

    Each function instance makes its AWS clients from sessions of its own, as on Lambda, and
    each new session would read and parse botocore's service models again (the DynamoDB
    model alone is megabytes of JSON). Many instances in one process, starting together,
    would spend seconds on that under one GIL; the models are the same files, so one loader
    serves them all. ``set_attribute`` is ``setattr``, or pytest's ``monkeypatch.setattr``.
    """
    import botocore.session  # noqa: PLC0415 - only the dev kit's processes want this

    original = botocore.session.create_loader
    if getattr(original, "_shared", False):
        return
    loaders: dict[Any, Any] = {}
    lock = threading.Lock()

    def shared(search_path_string: Any = None) -> Any:
        with lock:
            if search_path_string not in loaders:
                loaders[search_path_string] = original(search_path_string)
            return loaders[search_path_string]

    shared._shared = True  # type: ignore[attr-defined]
    set_attribute(botocore.session, "create_loader", shared)
