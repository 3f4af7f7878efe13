"""Each function imports what its own path needs, and nothing of the others' (its cold start).

A fresh interpreter loads each function's ``app.py`` as Lambda does and lists the ``vegart``
modules it imported; the composition root (``vegart.runtime``) imports a collaborator only when
a builder is first asked for it, so none of the packages below may be among them.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from devkit.functions import FUNCTIONS, ROOT
from tests.helpers.deployment import TEST_ENV

PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(sorted(name for name in sys.modules if name.startswith("vegart"))))
"""
#: What each function must not import when it loads.
NOT_ITS_OWN = {
    "authorizer": ["vegart.render", "vegart.jobs", "vegart.webhooks", "vegart.api.v1",
                   "vegart.api.v2", "vegart.api.rest", "vegart.credits", "vegart.queues"],
    "render": ["vegart.jobs", "vegart.webhooks", "vegart.api.v2", "vegart.api.authorizer",
               "vegart.queues"],
    "jobs": ["vegart.render.service", "vegart.render.backends", "vegart.render.leases",
             "vegart.jobs.worker", "vegart.webhooks.sender", "vegart.webhooks.transport",
             "vegart.api.v1", "vegart.api.authorizer"],
    "job_worker": ["vegart.api", "vegart.webhooks", "vegart.render", "vegart.jobs"],
    "job_dead_letters": ["vegart.api", "vegart.webhooks", "vegart.render", "vegart.jobs"],
    "webhook_sender": ["vegart.api", "vegart.webhooks", "vegart.render", "vegart.jobs"],
}  # fmt: skip


def loaded_by(function: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(FUNCTIONS / function / "app.py")],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**TEST_ENV, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_every_function_is_checked() -> None:
    assert set(NOT_ITS_OWN) == {path.parent.name for path in FUNCTIONS.glob("*/app.py")}


@pytest.mark.parametrize("function", sorted(NOT_ITS_OWN))
def test_a_function_loads_only_its_own_path(function: str) -> None:
    loaded = loaded_by(function)
    assert "vegart.runtime" in loaded  # it did load
    strays = [
        m for m in loaded if any(m == p or m.startswith(p + ".") for p in NOT_ITS_OWN[function])
    ]
    assert strays == []
