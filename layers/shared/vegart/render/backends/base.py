"""What every render backend offers the gateway: one call, bytes back or a contract error."""

from __future__ import annotations

from typing import Protocol

from vegart.deadline import Deadline
from vegart.render.spec import RenderSpec


class Backend(Protocol):
    """Renders a fully decided image within a deadline.

    ``render`` returns the JPEG's bytes or raises a :class:`vegart.errors.ContractError` whose
    status is what the client must get (400, 429, 502 or 504), per the contract's backend
    table. ``name`` and ``model`` take part in cache keys, so that two backends never share an
    object.
    """

    name: str
    model: str

    def render(self, spec: RenderSpec, deadline: Deadline) -> bytes: ...
