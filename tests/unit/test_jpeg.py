"""The gateway's JPEG check against real encoders' output and against what breaks."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from mock_server import render_jpeg
from vegart.render.jpeg import InvalidImage, check_render, is_valid_render, jpeg_size


def pillow_jpeg(width: int, height: int, **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 90)).save(buffer, "JPEG", **options)
    return buffer.getvalue()


def test_reads_the_size_of_a_baseline_jpeg() -> None:
    assert jpeg_size(render_jpeg("a fox", 1, 4)) == (1024, 1024)


@pytest.mark.parametrize(
    "options",
    [{}, {"progressive": True}, {"optimize": True}, {"exif": b"Exif\x00\x00" + b"\x00" * 64}],
)
def test_reads_the_size_of_pillow_jpegs(options: dict[str, object]) -> None:
    assert jpeg_size(pillow_jpeg(1024, 768, **options)) == (1024, 768)


def test_a_render_of_the_wrong_size_fails_the_check() -> None:
    with pytest.raises(InvalidImage, match="512 x 512"):
        check_render(pillow_jpeg(512, 512))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<html>502 Bad Gateway</html>",
        b'{"error": "oops"}',
        b"\xff\xd8\xff\xd9",
        b"\xff\xd8\xff\xe0\x00\x01\xff\xd9",
    ],
)
def test_bytes_that_are_not_a_jpeg_fail(data: bytes) -> None:
    assert not is_valid_render(data)


def test_a_jpeg_cut_off_midway_fails() -> None:
    image = render_jpeg("a fox", 1, 4)
    assert is_valid_render(image)
    assert not is_valid_render(image[: len(image) // 2])
    assert not is_valid_render(image[:200])


# --- what a decoder needs, and nothing less ----------------------------------------------------

#: Start, a 1024 x 1024 frame header, end: once served as a HIT that no decoder could open.
PLANTED = (
    b"\xff\xd8"
    + b"\xff\xc0\x00\x11\x08\x04\x00\x04\x00\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    + b"\xff\xd9"
)
#: Segments a decoder cannot do without (APPn and COM segments it can).
REQUIRED = {0xD8, 0xDB, 0xC4, 0xC0, 0xC2, 0xDA, 0xD9}


def segments(data: bytes) -> list[tuple[int, int, int]]:
    """``(marker, start, end)`` of each segment, a scan's data counted in its SOS segment.

    Written apart from vegart.render.jpeg, so that the test does not share the code it checks.
    """
    found = [(0xD8, 0, 2)]
    pos = 2
    while True:
        marker = data[pos + 1]
        if marker == 0xD9:
            found.append((marker, pos, pos + 2))
            return found
        end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xDA:
            while not (data[end] == 0xFF and data[end + 1] not in (0x00, *range(0xD0, 0xD8))):
                end += 1
        found.append((marker, pos, end))
        pos = end


def pillow_photo(**options: object) -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((1024, 1024), 40).convert("RGB").save(buffer, "JPEG", **options)
    return buffer.getvalue()


VALID = {
    "mock": render_jpeg("a fox", 1, 4),
    "baseline": pillow_photo(),
    "progressive": pillow_photo(progressive=True),
    "optimized": pillow_photo(optimize=True),
    "no-subsampling": pillow_photo(quality=95, subsampling=0),
    "flat": pillow_jpeg(1024, 1024),
}


def test_a_frame_header_without_image_data_is_refused() -> None:
    with pytest.raises(InvalidImage, match=r"no scan|quantisation|Huffman"):
        check_render(PLANTED)


@pytest.mark.parametrize("name", sorted(VALID))
def test_whole_jpegs_of_every_kind_pass(name: str) -> None:
    check_render(VALID[name])


def test_a_grayscale_jpeg_passes() -> None:
    buffer = io.BytesIO()
    Image.new("L", (1024, 1024), 128).save(buffer, "JPEG")
    check_render(buffer.getvalue())


def redefinitions(data: bytes) -> set[int]:
    """Starts of the DHT segments that only redefine Huffman tables defined before them.

    Progressive encoders send each scan's tables just before it, under ids used before:
    without such a segment the file still parses, and the scan would decode with the earlier
    table of that id. Telling that apart means decoding the scan, which the check does not do.
    """
    seen: set[bytes] = set()
    found = set()
    for marker, start, end in segments(data):
        if marker != 0xC4:
            continue
        ids, pos = set(), start + 4
        while pos < end:
            ids.add(data[pos : pos + 1])
            pos += 17 + sum(data[pos + 1 : pos + 17])
        if ids <= seen:
            found.add(start)
        seen |= ids
    return found


@pytest.mark.parametrize("name", sorted(VALID))
def test_removing_any_segment_a_decoder_needs_is_refused(name: str) -> None:
    data = VALID[name]
    needed = [(marker, start, end) for marker, start, end in segments(data) if marker in REQUIRED]
    assert len(needed) >= 6
    kept = redefinitions(data)
    assert not kept or name == "progressive"  # sequential files define each table once
    for marker, start, end in needed:
        if start not in kept:
            assert not is_valid_render(data[:start] + data[end:]), f"without 0x{marker:02X}"


@pytest.mark.parametrize("name", sorted(VALID))
def test_removing_metadata_segments_keeps_a_decodable_image(name: str) -> None:
    data = VALID[name]
    for marker, start, end in segments(data):
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:
            assert is_valid_render(data[:start] + data[end:])


@settings(max_examples=300, database=None, deadline=None)
@given(name=st.sampled_from(sorted(VALID)), cut=st.floats(0.0, 1.0, exclude_max=True))
def test_any_truncation_is_refused(name: str, cut: float) -> None:
    data = VALID[name]
    assert not is_valid_render(data[: int(len(data) * cut)])


@settings(max_examples=300, database=None, deadline=None)
@given(name=st.sampled_from(sorted(VALID)), cut=st.floats(0.0, 1.0))
def test_a_truncation_closed_with_an_end_marker_is_refused_before_the_scan_data(
    name: str, cut: float
) -> None:
    """Cut anywhere up to the first scan's data, then closed as if whole: refused."""
    data = VALID[name]
    first_scan = next(start for marker, start, _ in segments(data) if marker == 0xDA)
    header_end = first_scan + 2 + int.from_bytes(data[first_scan + 2 : first_scan + 4], "big")
    assert not is_valid_render(data[: int(header_end * cut)] + b"\xff\xd9")


def test_a_scan_that_lost_most_of_its_data_is_refused() -> None:
    data = VALID["mock"]
    _, start, end = next(s for s in segments(data) if s[0] == 0xDA)
    header_end = start + 2 + int.from_bytes(data[start + 2 : start + 4], "big")
    kept = header_end + (end - header_end) // 3
    assert not is_valid_render(data[:kept] + b"\xff\xd9")


def test_unsupported_codings_and_trailing_data_are_refused() -> None:
    data = VALID["baseline"]
    frame = data.index(b"\xff\xc0")
    arithmetic = data[:frame] + b"\xff\xc9" + data[frame + 2 :]
    assert not is_valid_render(arithmetic)
    assert not is_valid_render(data + b"<html>")
    assert is_valid_render(data + b"\x00\x00")
