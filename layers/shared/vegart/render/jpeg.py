"""Checking that bytes are a whole, decodable JPEG of the contract's size, without Pillow.

The gateway never serves or caches an image it has not checked, and a Lambda layer should not
carry an imaging library for that. A start marker, a frame header and an end marker are not
enough: 23 such bytes are "a 1024 x 1024 JPEG" that no decoder can open. So the check walks
every segment, as a decoder's parser would, and refuses what a decoder would refuse:

- one frame (baseline, extended or progressive Huffman: what browsers decode), of the size;
- every table a scan uses defined before it: the quantisation tables of its components, the
  Huffman tables it codes with;
- every coefficient of every component coded to full precision by some scan (for a
  progressive frame, the last scan of each band);
- enough entropy-coded data behind each scan for the blocks it covers: every block costs at
  least the shortest code of each table it uses, so a scan shorter than that cannot be whole;
- the end marker last (only zero fill may follow it).

It reads the markers and counts the scan's bytes with ``bytes.find``; it does not decode the
Huffman stream, which would cost a pure-Python second an image. So two damages pass: a scan
cut short by a few bytes and closed with an end marker, and a progressive file that lost a
Huffman table redefining one of the same id (the scan then reads the earlier table). One that
has lost any other segment a decoder needs, or most of a scan's data, does not.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

from vegart.contract import IMAGE_SIZE

#: Larger than any 1024 x 1024 JPEG a backend makes: bytes beyond it are not read as an image.
MAX_JPEG_BYTES = 8 * 1024 * 1024

_SOI = 0xD8
_EOI = 0xD9
_SOS = 0xDA
_DQT = 0xDB
_DHT = 0xC4
#: Huffman-coded frames a browser decodes: baseline, extended sequential, progressive.
_FRAMES = {0xC0: False, 0xC1: False, 0xC2: True}  # marker: progressive
#: Every other start-of-frame marker (lossless, hierarchical, arithmetic coding).
_OTHER_FRAMES = frozenset(range(0xC3, 0xD0)) - {_DHT, 0xC8, 0xCC}
_RST = frozenset(range(0xD0, 0xD8))
#: Markers that stand alone, with no length after them.
_STANDALONE = frozenset({0x01, *_RST})
_WHOLE: list[int | None] = [0] * 64


class InvalidImage(ValueError):
    """The bytes are not a complete JPEG, or not of the expected size."""


@dataclass(frozen=True)
class _Component:
    h: int
    v: int
    quant: int


@dataclass
class _Walk:
    """What the segments read so far have defined."""

    quant: set[int] = field(default_factory=set)
    #: (class, id) of each Huffman table: the length of its shortest code, in bits.
    huffman: dict[tuple[int, int], int] = field(default_factory=dict)
    width: int = 0
    height: int = 0
    progressive: bool = False
    components: dict[int, _Component] = field(default_factory=dict)
    #: For each component, the bit position to which each of its 64 coefficients is coded so
    #: far (``None``: not yet); a whole image has every one coded to bit 0.
    coded: dict[int, list[int | None]] = field(default_factory=dict)
    scans: int = 0


def jpeg_size(data: bytes) -> tuple[int, int]:
    """``(width, height)`` of a whole, decodable JPEG; :class:`InvalidImage` otherwise."""
    walk = _inspect(bytes(data))
    return walk.width, walk.height


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


def _inspect(data: bytes) -> _Walk:
    if data[:2] != b"\xff\xd8":
        raise InvalidImage("not a JPEG: no start-of-image marker")
    walk = _Walk()
    pos = 2
    while (marker := _marker_at(data, pos)) != _EOI:
        pos = _skip_fill(data, pos)
        if marker in _STANDALONE:
            pos += 2
            continue
        if pos + 4 > len(data):
            raise InvalidImage("JPEG is truncated inside a segment header")
        (length,) = struct.unpack_from(">H", data, pos + 2)
        body_end = pos + 2 + length
        if length < 2 or body_end > len(data):
            raise InvalidImage("JPEG is truncated: a segment runs past the end")
        body = data[pos + 4 : body_end]
        if marker in _FRAMES:
            _read_frame(body, walk, progressive=_FRAMES[marker])
        elif marker in _OTHER_FRAMES:
            raise InvalidImage(f"JPEG coding 0x{marker:02X} is not one that browsers decode")
        elif marker in _TABLES:
            _TABLES[marker](body, walk)
        pos = _read_scan(body, walk, data, body_end) if marker == _SOS else body_end
    if data[_skip_fill(data, pos) + 2 :].strip(b"\x00"):
        raise InvalidImage("JPEG is malformed: data after the end-of-image marker")
    if not walk.components:
        raise InvalidImage("JPEG has no frame header")
    if walk.scans == 0:
        raise InvalidImage("JPEG has no image data: no scan")
    if any(walk.coded.get(ident) != _WHOLE for ident in walk.components):
        raise InvalidImage("JPEG is incomplete: a component is not coded in full")
    return walk


def _skip_fill(data: bytes, pos: int) -> int:
    """The position of the marker at ``pos``, past any 0xFF fill bytes before it."""
    while data[pos + 1 : pos + 2] == b"\xff":
        pos += 1
    return pos


def _marker_at(data: bytes, pos: int) -> int:
    """The marker at ``pos`` (after fill bytes); :class:`InvalidImage` if there is none."""
    pos = _skip_fill(data, pos)
    if pos + 2 > len(data):
        raise InvalidImage("JPEG is truncated: no end-of-image marker")
    if data[pos] != 0xFF:
        raise InvalidImage(f"JPEG is malformed: expected a marker at byte {pos}")
    if data[pos + 1] == _SOI:
        raise InvalidImage("JPEG is malformed: a second start-of-image marker")
    return data[pos + 1]


def _read_quantisation(body: bytes, walk: _Walk) -> None:
    pos = 0
    while pos < len(body):
        precision, table = body[pos] >> 4, body[pos] & 0x0F
        size = 64 * (2 if precision else 1)
        if precision > 1 or table > 3 or pos + 1 + size > len(body):
            raise InvalidImage("JPEG has a malformed quantisation table")
        walk.quant.add(table)
        pos += 1 + size


def _read_huffman(body: bytes, walk: _Walk) -> None:
    pos = 0
    while pos < len(body):
        if pos + 17 > len(body):
            raise InvalidImage("JPEG has a malformed Huffman table")
        kind, table = body[pos] >> 4, body[pos] & 0x0F
        counts = body[pos + 1 : pos + 17]
        total = sum(counts)
        if kind > 1 or table > 3 or total == 0 or total > 256 or pos + 17 + total > len(body):
            raise InvalidImage("JPEG has a malformed Huffman table")
        walk.huffman[kind, table] = next(length for length, n in enumerate(counts, 1) if n)
        pos += 17 + total


_TABLES = {_DQT: _read_quantisation, _DHT: _read_huffman}


def _read_frame(body: bytes, walk: _Walk, *, progressive: bool) -> None:
    if walk.components:
        raise InvalidImage("JPEG is malformed: more than one frame")
    if len(body) < 6:
        raise InvalidImage("JPEG has a malformed frame header")
    _, height, width, count = struct.unpack_from(">BHHB", body)
    if width == 0 or height == 0 or count not in (1, 3) or len(body) != 6 + 3 * count:
        raise InvalidImage("JPEG has a malformed frame header")
    for offset in range(6, 6 + 3 * count, 3):
        ident, sampling, quant = body[offset], body[offset + 1], body[offset + 2]
        h, v = sampling >> 4, sampling & 0x0F
        if not (1 <= h <= 4 and 1 <= v <= 4) or quant > 3 or ident in walk.components:
            raise InvalidImage("JPEG has a malformed frame component")
        walk.components[ident] = _Component(h, v, quant)
    walk.width, walk.height, walk.progressive = width, height, progressive


def _read_scan(header: bytes, walk: _Walk, data: bytes, pos: int) -> int:
    """Check one scan's header and the size of its data; the position of the marker after it."""
    if not walk.components:
        raise InvalidImage("JPEG is malformed: image data before the frame header")
    count = header[0] if header else 0
    if count < 1 or len(header) != 4 + 2 * count:
        raise InvalidImage("JPEG has a malformed scan header")
    dc_scan, refining = header[-3] == 0, header[-1] >> 4 != 0
    if walk.progressive and not dc_scan and count != 1:
        raise InvalidImage("JPEG progressive AC scan codes more than one component")
    for offset in range(1, 1 + 2 * count, 2):
        ident, tables = header[offset], header[offset + 1]
        component = walk.components.get(ident)
        if component is None:
            raise InvalidImage("JPEG scan codes a component the frame does not have")
        if component.quant not in walk.quant:
            raise InvalidImage("JPEG scan comes before its quantisation table")
        for table in _tables_used(walk, tables, dc_scan=dc_scan, refining=refining):
            if table not in walk.huffman:
                raise InvalidImage("JPEG scan comes before its Huffman table")
        _code_band(walk, ident, header[-3], header[-2], header[-1])
    walk.scans += 1
    payload, after = _scan_data(data, pos)
    if payload * 8 < _least_scan_bits(header, walk):
        raise InvalidImage("JPEG scan is too short for its frame: image data is missing")
    return after


def _code_band(walk: _Walk, ident: int, start: int, stop: int, approximation: int) -> None:
    """Record that a scan codes coefficients ``start`` to ``stop`` of a component.

    A first pass (high bit 0) codes them down to bit ``low``; a refinement (high bit ``h``)
    must follow a pass that stopped at bit ``h``. A sequential frame codes all 64 at once.
    """
    high, low = approximation >> 4, approximation & 0x0F
    if not walk.progressive and (start, stop, approximation) != (0, 63, 0):
        raise InvalidImage("JPEG has a malformed scan header")
    if start > stop or stop > 63 or (start == 0 and stop != 0 and walk.progressive):
        raise InvalidImage("JPEG has a malformed progressive scan")
    bits = walk.coded.setdefault(ident, [None] * 64)
    for index in range(start, stop + 1):
        if bits[index] != (high or None):
            raise InvalidImage("JPEG has an inconsistent progression of scans")
        bits[index] = low


def _tables_used(
    walk: _Walk, tables: int, *, dc_scan: bool, refining: bool
) -> list[tuple[int, int]]:
    """The Huffman tables (class, id) that a scan of this kind decodes with."""
    dc, ac = (0, tables >> 4), (1, tables & 0x0F)
    if not walk.progressive:
        return [dc, ac]
    if dc_scan:
        return [] if refining else [dc]  # a DC refinement is one raw bit a block
    return [ac]


def _least_scan_bits(header: bytes, walk: _Walk) -> int:
    """The fewest bits a scan can hold: its blocks, each at its cheapest codes."""
    count = header[0]
    start, approximation = header[-3], header[-1]
    if walk.progressive and start != 0:
        return 0  # AC scans: one end-of-band run may cover every block
    h_max = max(c.h for c in walk.components.values())
    v_max = max(c.v for c in walk.components.values())
    bits = 0
    for offset in range(1, 1 + 2 * count, 2):
        component = walk.components[header[offset]]
        refining = approximation >> 4 != 0
        used = _tables_used(walk, header[offset + 1], dc_scan=start == 0, refining=refining)
        cost = sum(walk.huffman[table] for table in used) if used else 1
        if count == 1:  # non-interleaved: the component's own blocks
            columns = math.ceil(math.ceil(walk.width * component.h / h_max) / 8)
            rows = math.ceil(math.ceil(walk.height * component.v / v_max) / 8)
            blocks = columns * rows
        else:  # interleaved: whole MCUs, each holding h x v blocks of the component
            mcus = math.ceil(walk.width / (8 * h_max)) * math.ceil(walk.height / (8 * v_max))
            blocks = mcus * component.h * component.v
        bits += blocks * cost
    return bits


def _scan_data(data: bytes, pos: int) -> tuple[int, int]:
    """Entropy-coded bytes from ``pos`` (stuffing and restart markers not counted), and where
    the marker that ends them starts."""
    payload = 0
    end = len(data)
    while True:
        found = data.find(b"\xff", pos)
        if found < 0 or found + 1 >= end:
            raise InvalidImage("JPEG is truncated: image data runs to the end")
        payload += found - pos
        following = data[found + 1]
        if following == 0x00:  # a stuffed 0xFF data byte
            payload += 1
            pos = found + 2
        elif following in _RST or following == 0xFF:
            pos = found + 2 if following in _RST else found + 1
        else:
            return payload, found
