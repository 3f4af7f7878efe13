"""A standard-library stand-in for Segmind's ``POST /v1/segmind-vega-rt-v1``.

It answers like Segmind (keys, credits, rate limits, validation, JPEG or base64 images) and,
on request, like a Segmind having a bad day (every documented error status and the transport
faults a real network produces), and it keeps a journal of what it was asked. It imports
nothing but the standard library, and nothing of the gateway's: it stands for Segmind.
"""

from .admin_client import MockAdmin
from .contract import DOCUMENTED_STATUSES, MODEL_SLUG
from .faults import FAULTS, Fault
from .jpeg import render_jpeg
from .mock import DEFAULT_API_KEY, MockSegmind
from .rules import ROUTE

__all__ = [
    "DEFAULT_API_KEY",
    "DOCUMENTED_STATUSES",
    "FAULTS",
    "MODEL_SLUG",
    "ROUTE",
    "Fault",
    "MockAdmin",
    "MockSegmind",
    "render_jpeg",
]
