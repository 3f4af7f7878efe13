"""Checking that bytes are a whole JPEG of the contract's size, without Pillow.

The gateway never serves or caches an image it has not checked, and a Lambda layer should not
carry an imaging library for that. Walking the markers to the frame header and confirming the
end-of-image marker is enough to catch HTML error pages, truncated transfers and wrong sizes.
"""

from __future__ import annotations

import struct

from .contract import IMAGE_SIZE

_SOI = b"\xff\xd8"
_EOI = b"\xff\xd9"
# Start-of-frame markers carry the image size: every SOFn except DHT (C4), JPG (C8), DAC (CC).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers that stand alone, with no length field after them.
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


class InvalidImage(ValueError):
    """The bytes are not a complete JPEG, or not of the expected size."""


def jpeg_size(data: bytes) -> tuple[int, int]:
    """Return ``(width, height)`` from the frame header; raise :class:`InvalidImage` otherwise."""
    if not data.startswith(_SOI):
        raise InvalidImage("not a JPEG: no start-of-image marker")
    # Trailing fill bytes after EOI are legal but rare; a transfer cut short has no EOI at all.
    if not data.rstrip(b"\x00").endswith(_EOI):
        raise InvalidImage("JPEG is truncated: no end-of-image marker")
    pos = 2
    end = len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            raise InvalidImage(f"JPEG is malformed: expected a marker at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if length < 2:
            raise InvalidImage("JPEG is malformed: bad segment length")
        if marker in _SOF_MARKERS:
            if pos + 9 > end:
                break
            height, width = struct.unpack_from(">HH", data, pos + 5)
            return width, height
        if marker == 0xDA:  # start of scan before any frame header
            break
        pos += 2 + length
    raise InvalidImage("JPEG has no frame header")


def check_render(data: bytes, size: int = IMAGE_SIZE) -> None:
    """Raise :class:`InvalidImage` unless ``data`` is a complete ``size`` x ``size`` JPEG."""
    width, height = jpeg_size(data)
    if (width, height) != (size, size):
        raise InvalidImage(f"JPEG is {width} x {height}, expected {size} x {size}")


def is_valid_render(data: bytes, size: int = IMAGE_SIZE) -> bool:
    try:
        check_render(data, size)
    except InvalidImage:
        return False
    return True
