"""A tiny baseline JPEG encoder, standard library only.

The mock must answer real, decodable 1024 x 1024 JPEGs in a few milliseconds without Pillow, so
it draws an image made of flat 8 x 8 blocks: every block has a DC coefficient and no AC
coefficients, which turns encoding into a table lookup per block. The picture is a pure
function of its inputs, and a 16 x 16 patch of blocks in the top-left corner spells out the
SHA-256 of those inputs bit by bit, so two different inputs never share their pixels.
"""

from __future__ import annotations

import hashlib
import math
import struct
from functools import lru_cache

SIZE = 1024
_MCU = 16  # 4:2:0 subsampling: one MCU is 16 x 16 pixels, four luma blocks and two chroma
_MCUS = SIZE // _MCU
_LUMA_BLOCKS = SIZE // 8

# Annex K.3 luminance DC table: code lengths per category, categories 0..11.
_DC_BITS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
_DC_VALUES = tuple(range(12))
# An AC table with a single symbol, end-of-block, coded as the one-bit "0": every block ends
# right after its DC coefficient.
_AC_BITS = (1,) + (0,) * 15
_AC_VALUES = (0x00,)
_EOB = "0"
# A flat quantiser of 8 makes a block's quantised DC equal to its level-shifted sample value.
_QUANT = 8


def _canonical_codes(bits: tuple[int, ...], values: tuple[int, ...]) -> dict[int, str]:
    """Huffman codes as JPEG's canonical construction (Annex C) assigns them."""
    codes: dict[int, str] = {}
    code = 0
    symbols = iter(values)
    for length, count in enumerate(bits, start=1):
        for _ in range(count):
            codes[next(symbols)] = format(code, f"0{length}b")
            code += 1
        code <<= 1
    return codes


def _dc_diff_codes() -> dict[int, str]:
    """Bit strings for every DC difference a block can have, with the block's EOB appended."""
    dc = _canonical_codes(_DC_BITS, _DC_VALUES)
    table: dict[int, str] = {}
    for diff in range(-255, 256):
        category = abs(diff).bit_length()
        extra = diff if diff >= 0 else diff + (1 << category) - 1
        bits = format(extra, f"0{category}b") if category else ""
        table[diff] = dc[category] + bits + _EOB
    return table


_DIFF_CODES = _dc_diff_codes()


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">HH", marker, len(payload) + 2) + payload


def _huffman_segment(
    table_class: int, table_id: int, bits: tuple[int, ...], values: tuple[int, ...]
) -> bytes:
    return bytes([(table_class << 4) | table_id, *bits, *values])


def _headers(comment: bytes) -> bytes:
    jfif = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    quant = bytes([0x00]) + bytes([_QUANT] * 64)
    frame = struct.pack(">BHHB", 8, SIZE, SIZE, 3) + bytes([1, 0x22, 0, 2, 0x11, 0, 3, 0x11, 0])
    huffman = _huffman_segment(0, 0, _DC_BITS, _DC_VALUES) + _huffman_segment(
        1, 0, _AC_BITS, _AC_VALUES
    )
    scan = bytes([3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0])
    return (
        b"\xff\xd8"
        + _segment(0xFFE0, jfif)
        + _segment(0xFFFE, comment)
        + _segment(0xFFDB, quant)
        + _segment(0xFFC0, frame)
        + _segment(0xFFC4, huffman)
        + _segment(0xFFDA, scan)
    )


def _wave(length: int, params: bytes, amplitude: float) -> list[float]:
    """A smooth 1-D profile whose shape is set by three bytes of the digest."""
    freq = 1.0 + params[0] / 32.0
    phase = params[1] / 255.0 * 2 * math.pi
    tilt = (params[2] - 128) / 128.0
    return [
        amplitude * (math.sin(freq * math.pi * i / length + phase) + tilt * i / length)
        for i in range(length)
    ]


def _plane(size: int, digest: bytes, base: int, amplitude: float) -> list[list[int]]:
    """A plane of level-shifted block values (sample - 128), kept inside video range."""
    cols = _wave(size, digest[0:3], amplitude)
    rows = _wave(size, digest[3:6], amplitude)
    diag = _wave(2 * size, digest[6:9], amplitude / 2)
    return [
        [min(107, max(-112, int(base + cols[x] + row + diag[x + y]))) for x in range(size)]
        for y, row in enumerate(rows)
    ]


def _stamp_fingerprint(luma: list[list[int]], digest: bytes) -> None:
    """Write the digest's 256 bits into a 16 x 16 patch of luma blocks, light for a one."""
    for bit in range(256):
        on = (digest[bit // 8] >> (7 - bit % 8)) & 1
        luma[bit // 16][bit % 16] = 87 if on else -88


def _entropy_coded(luma: list[list[int]], cb: list[list[int]], cr: list[list[int]]) -> bytes:
    codes = _DIFF_CODES
    out: list[str] = []
    append = out.append
    prev_y = prev_cb = prev_cr = 0
    for my in range(_MCUS):
        top, bottom = luma[2 * my], luma[2 * my + 1]
        cb_row, cr_row = cb[my], cr[my]
        for mx in range(_MCUS):
            x = 2 * mx
            for value in (top[x], top[x + 1], bottom[x], bottom[x + 1]):
                append(codes[value - prev_y])
                prev_y = value
            value = cb_row[mx]
            append(codes[value - prev_cb])
            prev_cb = value
            value = cr_row[mx]
            append(codes[value - prev_cr])
            prev_cr = value
    bits = "".join(out)
    bits += "1" * (-len(bits) % 8)  # pad the last byte with ones, as the standard asks
    data = int(bits, 2).to_bytes(len(bits) // 8, "big")
    return data.replace(b"\xff", b"\xff\x00")  # byte stuffing


def fingerprint(prompt: str, seed: int, steps: int) -> bytes:
    """The SHA-256 that decides an image: equal inputs, equal digest, equal pixels."""
    # surrogatepass: JSON's "\ud800" escape decodes to a lone surrogate, which strict UTF-8
    # refuses to encode; such a prompt is still a prompt and must not become a 500.
    text = f"{prompt}\x00{seed}\x00{steps}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


@lru_cache(maxsize=256)
def render_jpeg(prompt: str, seed: int, steps: int) -> bytes:
    """A baseline 1024 x 1024 YCbCr 4:2:0 JPEG that is a pure function of its arguments.

    The values are level-shifted samples: with a quantiser of 8 a flat block's DC coefficient
    is 8 * (v - 128) before quantisation and v - 128 after, so the decoded block is exactly v.
    """
    digest = fingerprint(prompt, seed, steps)
    more = hashlib.sha256(digest).digest()
    luma = _plane(_LUMA_BLOCKS, digest, -2, 45.0)
    _stamp_fingerprint(luma, digest)
    cb = _plane(_MCUS, more, 0, 30.0)
    cr = _plane(_MCUS, more[9:], 0, 30.0)
    comment = b"segmind-mock " + digest.hex().encode()
    return _headers(comment) + _entropy_coded(luma, cb, cr) + b"\xff\xd9"
