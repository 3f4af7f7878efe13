"""Image check benchmark: what checking a render costs, against decoding it.

Run with ``.venv/bin/python benchmarks/bench_image_check.py`` (``make bench`` runs it too).

``vegart.render.jpeg.check_render`` walks every segment and counts each scan's bytes, on every miss
(what a backend answered) and every hit (what the cache holds). The baseline, in the same run,
is what a decoder spends on the same bytes: Pillow opening and fully decoding the image. The
images are 1024 x 1024 photographs-like noise from Pillow (baseline and progressive coding)
and the mock Segmind's flat image, median of 200 calls each, taken in turns.
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable

from devkit.bench import table, use_bench_env

REPEAT = 200


def pillow_photo(**options: object) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.effect_noise((1024, 1024), 40).convert("RGB").save(buffer, "JPEG", **options)
    return buffer.getvalue()


def timed(fn: Callable[[], object]) -> float:
    began = time.perf_counter()
    fn()
    return (time.perf_counter() - began) * 1000


def main() -> None:
    use_bench_env()
    from PIL import Image

    from mock_server import render_jpeg
    from vegart.render.jpeg import check_render

    images = {
        "Pillow, baseline": pillow_photo(quality=90),
        "Pillow, progressive": pillow_photo(quality=90, progressive=True),
        "mock Segmind (flat blocks)": render_jpeg("a lighthouse", 1, 4),
    }

    def decode(data: bytes) -> None:
        with Image.open(io.BytesIO(data)) as image:
            image.load()

    rows = []
    for name, data in images.items():
        ours: list[float] = []
        pillow: list[float] = []
        for _ in range(REPEAT):  # in turns, so that both see the same machine
            ours.append(timed(lambda data=data: check_render(data)))
            pillow.append(timed(lambda data=data: decode(data)))
        check, full = statistics.median(ours), statistics.median(pillow)
        rows.append((name, f"{len(data) / 1024:.0f} KiB", f"{check:.3f} ms", f"{full:.2f} ms",
                     f"{full / check:.0f} x"))  # fmt: skip
    print(
        table(
            ("image", "size", "check_render", "baseline: Pillow decode", "check is cheaper by"),
            rows,
        )
    )


if __name__ == "__main__":
    main()
