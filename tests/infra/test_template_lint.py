"""cfn-lint on template.yaml: no error, warning or informational finding."""

from __future__ import annotations

from cfnlint.api import ManualArgs, lint_file

from tests.helpers.template import TEMPLATE_PATH


def test_cfn_lint_reports_nothing() -> None:
    # Informational checks included: they flag, for instance, stateful resources without an
    # explicit DeletionPolicy.
    matches = lint_file(TEMPLATE_PATH, ManualArgs(include_checks=["I"]))
    assert matches == [], "\n".join(
        f"{m.rule.id} {m.message} ({m.filename}:{m.linenumber})" for m in matches
    )
