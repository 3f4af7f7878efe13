"""The gateway's JPEG check against real encoders' output and against what breaks."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from mock_server import render_jpeg
from vegart.jpeg import InvalidImage, check_render, is_valid_render, jpeg_size


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
