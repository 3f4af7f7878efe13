"""Loading a function's handler as Lambda does: ``<CodeUri>/<module>.py``, under its own name.

Each function's ``app.py`` is a module of the same name in another folder, so it cannot be
imported by name; Lambda loads it from its code directory, and so do the tests, the
benchmarks and the local stack, through :func:`load_handler`.

A loaded function is a cold start: its own module, its own settings and collaborators. What
it shares with every other instance of the process is what Lambda's instances share with
nothing, since each has a process of its own: the ``vegart`` package, and (through
``vegart.aws``) one boto3 session, whose parsed service models serve every client. A test
that loads functions gives them back when it ends (:func:`unload_functions`), so that a suite
that loads thousands keeps only those of the test that runs.
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
#: The modules :func:`load_function` has loaded and :func:`unload_functions` not yet dropped.
_loaded: list[str] = []


def load_function(name: str, *, sleep: Callable[[float], None] | None = None) -> ModuleType:
    """``functions/<name>/app.py``, loaded anew as a new instance's cold start loads it.

    Each call reads the settings from the environment as it is now and builds its own
    collaborators: a test that wants other settings sets them and loads the function again.
    ``sleep`` replaces the instance's way of waiting out a back-off (``Wiring.sleep``): a
    test passes :func:`devkit.clock.no_wait`, so that a retry costs no real time.
    """
    module_name = f"vegart_function_{name}_{next(_cold_starts)}"
    _loaded.append(module_name)
    module = load_module(FUNCTIONS / name, name=module_name)
    if sleep is not None:
        module.wiring.sleep = sleep
    return module


def unload_functions() -> int:
    """Forget every function :func:`load_function` loaded, as Lambda retires its instances;
    how many. What only they held (their clients, their caches) is freed with them."""
    dropped = 0
    while _loaded:
        dropped += sys.modules.pop(_loaded.pop(), None) is not None
    return dropped


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
    one process here, and with it one boto3 session (``vegart.aws``): a burst of cold starts
    parses each service's model once, not once an instance.
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
