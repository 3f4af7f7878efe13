"""Static security analysis: checkov on the template, bandit on the gateway's Python.

checkov reads template.yaml as written, and also the stack that CloudFormation makes from it
(the SAM translation with every condition decided) for the default parameters and for the
opposite of each condition, so that what hides behind an ``Fn::If`` or ``Condition`` (the
SageMaker backend, tracing, the roles' resolved statements, SAM's generated permissions) is
checked as well. Every check it skips is listed, with its reason, in ``.checkov.yaml``.

checkov pins dependencies (boto3 among them) that conflict with the project's own pins, so it
lives in a virtual environment of its own: ``$CHECKOV``, ``.venv/checkov/bin/checkov``, or a
``checkov`` on PATH. bandit is a dev dependency; its settings are ``[tool.bandit]`` in
pyproject.toml, and any finding it does not report is skipped inline with a reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers.template import REPO_ROOT, TEMPLATE_PATH, as_deployed

CHECKOV_CONFIG = REPO_ROOT / ".checkov.yaml"
#: The stack as deployed, for the defaults and for every condition turned the other way.
VARIANTS: dict[str, dict[str, str]] = {
    "defaults": {},
    "sagemaker-tracing-origins-reserved": {
        "Backend": "sagemaker",
        "SageMakerModelDataUrl": "s3://vegart-models-example/vega-rt/model.tar.gz",
        "EnableTracing": "true",
        "AllowedOrigins": "https://app.example.com",
        "RenderReservedConcurrency": "10",
        "EnableAccessLogs": "true",
        "SetApiGatewayLoggingRole": "true",
    },
}
#: Skipped for the template as a whole (access logs are off by default), and checked where
#: they are on: the deployment with access logs must pass it.
ACCESS_LOGS_CHECK = "CKV_AWS_76"
ACCESS_LOGS_VARIANT = "sagemaker-tracing-origins-reserved"
#: The gateway's own Python: what runs in Lambda, on the operator's machine and in tests.
BANDIT_PATHS = ("layers", "functions", "mock_server", "local_stack", "admin", "sagemaker")
CHECKOV_SECONDS = 300
NOSEC = re.compile(r"#\s*nosec\b(?P<rest>.*)$")
#: ``# nosec B311 # why``: bandit reads the ids up to the next "#", then the reason follows.
JUSTIFIED_NOSEC = re.compile(r"#\s*nosec\s+B\d{3}(\s*,\s*B\d{3})*\s*#\s*\S.{4,}$")


def checkov_command() -> str:
    for candidate in (
        os.environ.get("CHECKOV"),
        str(REPO_ROOT / ".venv" / "checkov" / "bin" / "checkov"),
        shutil.which("checkov"),
    ):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(
        "checkov is not installed. Its pins conflict with the project's, so it goes into a "
        "virtual environment of its own: python3.11 -m venv .venv/checkov && "
        ".venv/checkov/bin/python -m pip install checkov==3.3.30",
        pytrace=False,
    )


def checkov_env() -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("BC_", "PRISMA_", "CKV_"))
    }
    # Offline and quiet: no platform metadata, no update check, no API key.
    env.update(BC_SKIP_MAPPING="TRUE", CKV_SKIP_PACKAGE_UPDATE_CHECK="true", LOG_LEVEL="WARNING")
    return env


def skipped_checks() -> list[str]:
    return list(yaml.safe_load(CHECKOV_CONFIG.read_text())["skip-check"])


def deployed_stack(
    translated: dict[str, Any], sam_template: dict[str, Any], parameters: dict[str, str]
) -> dict[str, Any]:
    """One deployment, with nothing left for checkov to decide (conditions, rules)."""
    stack = as_deployed(translated, sam_template, parameters)
    stack.pop("Conditions", None)
    stack.pop("Rules", None)
    for resource in stack["Resources"].values():
        resource.pop("Condition", None)
    for output in stack.get("Outputs", {}).values():
        output.pop("Condition", None)
    for name, value in parameters.items():
        stack["Parameters"][name]["Default"] = value
    return stack


def run_checkov(arguments: list[str], cwd: Path) -> tuple[int, list[dict[str, Any]], str]:
    """checkov's JSON reports. It also reads a .checkov.yaml in ``cwd`` on its own."""
    completed = subprocess.run(
        [checkov_command(), *arguments, "--output", "json"],
        cwd=cwd,
        env=checkov_env(),
        capture_output=True,
        text=True,
        timeout=CHECKOV_SECONDS,
        check=False,
    )
    try:
        document = json.loads(completed.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"checkov printed no JSON (exit {completed.returncode}):\n"
            f"{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
        )
    reports = document if isinstance(document, list) else [document]
    return completed.returncode, reports, completed.stderr


@pytest.fixture(scope="module")
def checkov_runs(
    translated: dict[str, Any], sam_template: dict[str, Any], tmp_path_factory: Any
) -> dict[str, tuple[int, list[dict[str, Any]], str]]:
    """checkov as configured, and checkov with only the skipped checks, run side by side.

    The second also reads where access logs are on: its answer for that deployment's
    ``ACCESS_LOGS_CHECK`` is the access logs' own check (two checkov runs, not three: each
    start costs seconds of a core).
    """
    folder = tmp_path_factory.mktemp("checkov")
    files = [str(TEMPLATE_PATH)]
    for name, parameters in VARIANTS.items():
        path = folder / f"deployed-{name}.json"
        path.write_text(json.dumps(deployed_stack(translated, sam_template, parameters)))
        files.append(str(path))
    configured = ["--config-file", str(CHECKOV_CONFIG), "--file", *files]
    only_skipped = [
        "--framework",
        "cloudformation",
        "--skip-download",
        "--compact",
        "--check",
        ",".join(skipped_checks()),
        "--file",
        *files,
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = {
            "configured": pool.submit(run_checkov, configured, REPO_ROOT),
            # Away from the repository, where checkov would read .checkov.yaml's skips itself.
            "only_skipped": pool.submit(run_checkov, only_skipped, folder),
        }
        return {name: future.result() for name, future in runs.items()}


def failed(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [check for report in reports for check in report["results"]["failed_checks"]]


def test_checkov_passes_the_template_and_every_deployment(checkov_runs: dict) -> None:
    code, reports, stderr = checkov_runs["configured"]
    assert [report["check_type"] for report in reports] == ["cloudformation"], stderr[-3000:]
    (report,) = reports
    findings = [
        f"{check['check_id']} {check['resource']} ({Path(check['file_path']).name}): "
        f"{check['check_name']}"
        for check in failed(reports)
    ]
    assert findings == [], "\n".join(findings)
    assert report["summary"]["parsing_errors"] == 0
    assert code == 0, stderr[-3000:]
    # It really read the three documents: a run that scans nothing must not pass.
    scanned = {Path(check["file_path"]).name for check in report["results"]["passed_checks"]}
    assert scanned == {"template.yaml"} | {f"deployed-{name}.json" for name in VARIANTS}
    passed_ids = {check["check_id"] for check in report["results"]["passed_checks"]}
    # IAM (no admin, no wildcard writes), bucket privacy and encryption, Lambda permissions.
    assert {"CKV_AWS_107", "CKV_AWS_111", "CKV_AWS_19", "CKV_AWS_53", "CKV_AWS_364"} <= passed_ids


def test_every_skipped_check_still_fails_without_its_skip(checkov_runs: dict) -> None:
    # A skip that nothing needs any more is a hole waiting for a finding: remove it.
    _, reports, stderr = checkov_runs["only_skipped"]
    still_needed = {check["check_id"] for check in failed(reports)}
    stale = sorted(set(skipped_checks()) - still_needed)
    assert stale == [], f"remove these from .checkov.yaml's skip-check: {stale}\n{stderr[-2000:]}"


def test_access_logging_passes_where_access_logs_are_on(checkov_runs: dict) -> None:
    _, reports, stderr = checkov_runs["only_skipped"]
    deployment = f"deployed-{ACCESS_LOGS_VARIANT}.json"

    def there(kind: str) -> list[dict[str, Any]]:
        return [
            check
            for report in reports
            for check in report["results"][kind]
            if check["check_id"] == ACCESS_LOGS_CHECK
            and Path(check["file_path"]).name == deployment
        ]

    assert there("failed_checks") == [], stderr[-2000:]
    assert len(there("passed_checks")) == 1


def test_every_skipped_check_has_a_reason() -> None:
    lines = CHECKOV_CONFIG.read_text().splitlines()
    skips = skipped_checks()
    assert skips, "skip-check is empty: remove it rather than leave an empty list"
    assert len(set(skips)) == len(skips), "a check is skipped twice"
    for check_id in skips:
        (index,) = [i for i, line in enumerate(lines) if line.strip() == f"- {check_id}"]
        reason = lines[index - 1].strip()
        assert reason.startswith("#"), f"{check_id} has no reason on the line above it"
        assert len(reason.lstrip("# ")) >= 20, f"{check_id}'s reason says too little: {reason}"


# -- bandit ----------------------------------------------------------------------------------


def test_bandit_finds_nothing_in_the_gateways_code() -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bandit",
            "--configfile",
            "pyproject.toml",
            "--recursive",
            "--format",
            "json",
            "--quiet",
            *BANDIT_PATHS,
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(completed.stdout)
    findings = [
        f"{result['filename']}:{result['line_number']} {result['test_id']} "
        f"({result['issue_severity']}): {result['issue_text']}"
        for result in report["results"]
    ]
    assert findings == [], "\n".join(findings)
    assert report["errors"] == []
    assert completed.returncode == 0, completed.stderr[-2000:]
    # It read the code: thousands of lines, not an empty selection.
    assert report["metrics"]["_totals"]["loc"] > 2000


def test_every_nosec_names_its_check_and_says_why() -> None:
    unjustified = []
    for folder in BANDIT_PATHS:
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                found = NOSEC.search(line)
                if found and not JUSTIFIED_NOSEC.search(line):
                    unjustified.append(f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}")
    assert unjustified == [], "write `# nosec BXXX # why`:\n" + "\n".join(unjustified)
