"""The README's code blocks, which tests run as a reader would run them."""

from __future__ import annotations

import re

from devkit.functions import ROOT

README = ROOT / "README.md"


def readme_block(language: str, containing: str) -> str:
    """The README's code block in ``language`` that holds ``containing``."""
    blocks = re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    (block,) = [block for block in blocks if containing in block]
    return block
