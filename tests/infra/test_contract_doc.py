"""docs/contract.md, docs/openapi.yaml and the code say the same thing.

The contract is written for people in ``docs/contract.md`` and for machines in
``docs/openapi.yaml``, and enforced by ``vegart.contract``, ``vegart.errors`` and
``vegart.api.rest``. Each table a person reads is parsed here and compared with the other two, so
that none of the three can change alone; and every section the code cites must exist.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers.contract_doc import section, table
from tests.helpers.template import OPENAPI_PATH, REPO_ROOT
from vegart import contract, errors
from vegart.api.rest import EXPOSED_HEADERS

OPENAPI = yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
SCHEMA = OPENAPI["components"]["schemas"]["RenderRequest"]


REQUEST = {row[0]: row[1:] for row in table("Request fields")}


def test_the_request_table_has_every_field_of_the_schema() -> None:
    assert set(REQUEST) == set(SCHEMA["properties"])
    assert [name for name, (_, default, _) in REQUEST.items() if default == "required"] == (
        SCHEMA["required"]
    )


@pytest.mark.parametrize("field", sorted(contract.INT_FIELDS, key=lambda f: f.name))
def test_each_integer_field_reads_the_same_in_all_three(field: contract.IntField) -> None:
    kind, default, allowed = REQUEST[field.name]
    low, high = (int(bound) for bound in allowed.split(" to "))
    schema = SCHEMA["properties"][field.name]
    assert kind == schema["type"] == "integer"
    assert int(default) == schema["default"] == field.default
    assert low == schema["minimum"] == field.low
    assert high == schema["maximum"] == field.high


def test_the_prompt_reads_the_same_in_all_three() -> None:
    kind, _, allowed = REQUEST["prompt"]
    schema = SCHEMA["properties"]["prompt"]
    assert kind == schema["type"] == "string"
    low, high = (int(n) for n in re.findall(r"\d+", allowed)[:2])
    assert (low, high) == (schema["minLength"], schema["maxLength"])
    assert high == contract.MAX_PROMPT_CHARS


def test_base64_reads_the_same_in_all_three() -> None:
    kind, default, _ = REQUEST["base64"]
    schema = SCHEMA["properties"]["base64"]
    assert kind == schema["type"] == "boolean"
    assert (default == "true") is schema["default"] is contract.RenderRequest("x").base64


def test_the_error_table_is_the_statuses_the_route_documents_and_the_code_raises() -> None:
    documented = {int(row[0]) for row in table("Errors")}
    route = OPENAPI["paths"][f"/{contract.MODEL_SLUG}"]["post"]["responses"]  # under /v1
    raised = {cls.status for cls in _subclasses(errors.ContractError)}
    assert documented - {405} == {int(status) for status in route} - {200}
    assert documented == raised


def test_the_exposed_headers_are_the_ones_the_functions_expose() -> None:
    text = section("CORS")
    exposed = text[text.index("exposes") : text.index("Every answer")]
    assert re.findall(r"`([^`]+)`", exposed) == EXPOSED_HEADERS


def cited_sections() -> list[tuple[Path, str]]:
    """Every ``docs/contract.md, "Section"`` the code and the tests cite."""
    found = []
    for root in ("layers", "functions", "local_stack", "devkit", "sagemaker", "tests"):
        for path in (REPO_ROOT / root).rglob("*.py"):
            if path == Path(__file__):
                continue
            for title in re.findall(r'docs/contract\.md, "([^"]+)"', path.read_text()):
                found.append((path.relative_to(REPO_ROOT), title))
    return found


def test_the_code_cites_the_contract_somewhere() -> None:
    assert len(cited_sections()) >= 4


@pytest.mark.parametrize(("path", "title"), cited_sections(), ids=str)
def test_every_cited_section_exists(path: Path, title: str) -> None:
    assert section(title), f"{path} cites a section docs/contract.md does not have"


def _subclasses(cls: type[Any]) -> set[type[Any]]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found
