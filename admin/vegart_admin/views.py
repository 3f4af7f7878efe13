"""How keys look on a terminal and in JSON.

Only :meth:`KeyRecord.public` fields are shown, which hold the key's hash and a four-character
hint but nothing that could rebuild the key. The plain key appears only in
:func:`created`, the one answer that must carry it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from vegart.keys import KeyRecord

#: Columns of ``keys list``: heading, and how to get the cell from a record's public view.
_COLUMNS: tuple[tuple[str, str], ...] = (
    ("KEY ID", "key_id"),
    ("LABEL", "label"),
    ("STATUS", "status"),
    ("CREDITS", "credits"),
    ("RATE", "rate"),
    ("BURST", "burst"),
    ("HINT", "hint"),
    ("CREATED", "created_at"),
    ("LAST USED", "last_used_at"),
)
#: The id column shows a prefix: long enough to pass back to `show` (8 digits is the minimum).
ID_WIDTH = 16
LABEL_WIDTH = 32
#: Said right under a new key: the one moment it can be copied.
STORE_IT_NOW = "Store this key now: it is not kept anywhere and cannot be shown again."


def as_json(value: Any) -> str:
    """Indented and key-sorted: stable output for scripts and for diffs."""
    return json.dumps(value, indent=2, sort_keys=True)


def _cell(name: str, value: Any) -> str:
    if name == "key_id":
        return str(value)[:ID_WIDTH]
    if name == "label" and len(str(value)) > LABEL_WIDTH:
        return str(value)[: LABEL_WIDTH - 1] + "~"
    if name == "rate":
        return f"{float(value):g}"
    if name == "hint":
        return f"...{value}" if value else ""
    return str(value) if value not in (None, "") else "-"


def table(records: Iterable[KeyRecord]) -> str:
    """A fixed-width table, one key a row; numbers right-aligned so that balances line up."""
    rows = [[_cell(name, record.public()[name]) for _, name in _COLUMNS] for record in records]
    if not rows:
        return "(no keys)"
    headings = [heading for heading, _ in _COLUMNS]
    widths = [max(len(cell) for cell in column) for column in zip(headings, *rows, strict=True)]
    numeric = {"credits", "rate", "burst"}

    def line(cells: list[str]) -> str:
        parts = [
            cell.rjust(width) if name in numeric else cell.ljust(width)
            for cell, width, (_, name) in zip(cells, widths, _COLUMNS, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headings), *(line(row) for row in rows)])


def details(record: KeyRecord) -> str:
    """One ``name: value`` line per field, for ``show`` and the other single-key answers."""
    fields = record.public()
    fields["models"] = ", ".join(fields["models"])
    width = max(len(name) for name in fields)
    return "\n".join(
        f"{name + ':':<{width + 1}} {'-' if value in (None, '') else value}"
        for name, value in fields.items()
    )


def created(plain_key: str, record: KeyRecord, *, as_json_output: bool = False) -> str:
    """``create``'s answer: the plain key, labelled and first, the reminder to store it right
    under it, then the record after a blank line. In JSON, the key and the record only."""
    if as_json_output:
        return as_json({"api_key": plain_key, "key": record.public()})
    return f"api_key: {plain_key}\n{STORE_IT_NOW}\n\n{details(record)}"
