"""``docs/contract.md`` read as a person reads it: its sections and their tables."""

from __future__ import annotations

import re

from devkit.functions import ROOT

CONTRACT_PATH = ROOT / "docs" / "contract.md"
TEXT = CONTRACT_PATH.read_text(encoding="utf-8")


def section(title: str) -> str:
    """The text of the ``## title`` section."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", TEXT, re.S | re.M)
    assert match, f"docs/contract.md has no section {title!r}"
    return match.group(1)


def table(title: str) -> list[list[str]]:
    """The rows of the first table in a section, cells stripped of their backticks."""
    rows = []
    for line in section(title).splitlines():
        if line.startswith("|") and not set(line) <= set("|- "):
            rows.append([cell.strip().strip("`") for cell in line.strip("|").split("|")])
    return rows[1:]  # the header row
