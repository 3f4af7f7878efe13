"""A standard-library stand-in for Segmind's ``POST /v1/segmind-vega-rt-v1``.

It answers like Segmind (keys, credits, rate limits, validation, JPEG or base64 images) and,
on request, like a Segmind having a bad day (every documented error status and the transport
faults a real network produces), and it keeps a journal of what it was asked. It imports
nothing but the standard library, and nothing of the gateway's: it stands for Segmind.
"""

from .admin import MockAdmin
from .behaviours import FAULTS
from .contract import DOCUMENTED_STATUSES, MODEL_SLUG
from .jpeg import render_jpeg
from .server import DEFAULT_API_KEY, ROUTE, MockSegmind

__all__ = [
    "DEFAULT_API_KEY",
    "DOCUMENTED_STATUSES",
    "FAULTS",
    "MODEL_SLUG",
    "ROUTE",
    "MockAdmin",
    "MockSegmind",
    "render_jpeg",
]
