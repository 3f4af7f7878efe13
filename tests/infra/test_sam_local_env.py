"""``local_stack/sam-env.json``: what ``sam local`` needs to run the functions against the
local stack. SAM only overrides variables that the template declares, so each must be there."""

from __future__ import annotations

import json
from typing import Any

from devkit.resources import LOCAL_DEPLOYMENT
from local_stack.options import LOCAL_AWS_PORT, LOCAL_MOCK_PORT
from tests.helpers.template import REPO_ROOT

ENV_FILE = REPO_ROOT / "local_stack" / "sam-env.json"


def test_every_override_is_a_variable_the_template_declares(translated: dict[str, Any]) -> None:
    """Declared for the function itself or in Globals: SAM gives the function both."""
    overrides = json.loads(ENV_FILE.read_text(encoding="utf-8"))
    for function, variables in overrides.items():
        declared = translated["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert set(variables) <= set(declared), function


def test_the_overrides_name_the_local_stacks_resources() -> None:
    render = json.loads(ENV_FILE.read_text(encoding="utf-8"))["RenderFunction"]
    assert render["CACHE_BUCKET"] == LOCAL_DEPLOYMENT.bucket
    assert render["KEYS_TABLE"] == LOCAL_DEPLOYMENT.keys_table
    assert render["LEASES_TABLE"] == LOCAL_DEPLOYMENT.leases_table
    assert render["SEGMIND_SECRET_ID"] == LOCAL_DEPLOYMENT.secret_id
    assert render["VEGART_AWS_ENDPOINT_URL"].endswith(f":{LOCAL_AWS_PORT}")
    assert render["SEGMIND_BASE_URL"].endswith(f":{LOCAL_MOCK_PORT}/v1")


def test_the_v2_functions_find_the_local_stacks_jobs_table_and_queue() -> None:
    overrides = json.loads(ENV_FILE.read_text(encoding="utf-8"))
    for function in ("JobsFunction", "JobWorkerFunction", "JobDeadLetterFunction"):
        assert overrides[function]["JOBS_TABLE"] == LOCAL_DEPLOYMENT.jobs_table, function
    for function in ("JobsFunction", "JobWorkerFunction"):
        url = overrides[function]["JOB_QUEUE_URL"]
        assert url.endswith(f":{LOCAL_AWS_PORT}/123456789012/{LOCAL_DEPLOYMENT.job_queue}")
