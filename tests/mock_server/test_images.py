"""The 200: a real baseline JPEG, a pure function of (prompt, seed, steps), and reproducible."""

from __future__ import annotations

import base64
import io
import itertools

import pytest
from PIL import Image

from mock_server import MockSegmind, render_jpeg


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()  # decodes every scan, not only the header
    return image


def test_a_200_is_a_baseline_1024_jpeg_pillow_decodes(segmind):
    response = segmind.render()
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert int(response.headers["Content-Length"]) == len(response.content)
    image = decode(response.content)
    assert image.format == "JPEG"
    assert image.size == (1024, 1024)
    assert image.mode == "RGB"
    assert not image.info.get("progressive")
    assert b"\xff\xc0" in response.content, "SOF0, the baseline frame"
    assert b"\xff\xc2" not in response.content
    assert len(image.resize((32, 32)).getcolors(1024)) > 16, "a picture, not a flat colour"


def test_a_200_carries_seed_request_id_and_credits(segmind):
    response = segmind.render(seed=42)
    assert response.headers["x-seed-value"] == "42"
    assert response.headers["x-request-id"]
    remaining = int(response.headers["x-remaining-credits"])
    assert remaining == segmind.mock.options.credits - 1


@pytest.mark.parametrize(
    "accept", [None, "*/*", "image/jpeg", "image/*", "application/json, text/plain, */*"]
)
def test_raw_bytes_whatever_the_accept_header(segmind, accept):
    headers = {} if accept is None else {"Accept": accept}
    response = segmind.render(headers=headers)
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.content.startswith(b"\xff\xd8")


def test_the_same_input_gives_the_same_bytes(segmind):
    first = segmind.render(seed=9, num_inference_steps=6).content
    second = segmind.render(seed=9, num_inference_steps=6).content
    assert first == second
    assert first == render_jpeg(segmind.prompt, 9, 6)


def test_any_change_gives_a_different_image(segmind):
    variants = [
        {"prompt": "a lighthouse at dusk", "seed": 1, "num_inference_steps": 4},
        {"prompt": "a lighthouse at dusk.", "seed": 1, "num_inference_steps": 4},
        {"prompt": "a lighthouse at dusk", "seed": 2, "num_inference_steps": 4},
        {"prompt": "a lighthouse at dusk", "seed": 1, "num_inference_steps": 5},
    ]
    images = [segmind.render(body).content for body in variants]
    for one, other in itertools.combinations(images, 2):
        assert one != other
    pixels = [decode(image).tobytes() for image in images]
    assert len(set(pixels)) == len(pixels), "the pixels differ, not only the comment"


def test_base64_answers_json_with_the_same_jpeg(segmind):
    raw = segmind.render(seed=5).content
    response = segmind.render(seed=5, base64=True)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["x-seed-value"] == "5"
    assert base64.b64decode(response.json()["image"], validate=True) == raw


def test_seed_minus_one_picks_a_seed_and_reports_it(segmind):
    picked = segmind.render(seed=-1)
    seed = int(picked.headers["x-seed-value"])
    assert 0 <= seed < 2**32
    again = segmind.render(seed=seed)
    assert again.content == picked.content
    assert segmind.render().headers["x-seed-value"] == "7", "the helper's explicit seed"


def test_no_seed_is_seed_minus_one(segmind):
    picks = {segmind.render({"prompt": "a lighthouse"}).headers["x-seed-value"] for _ in range(5)}
    assert len(picks) == 5


def _session(seed: int | None) -> list[tuple[str, str, bytes]]:
    """The same requests against a fresh mock: picked seeds, request ids and images."""
    import requests

    with MockSegmind(seed=seed) as mock, requests.Session() as http:
        answers = []
        for body in (
            {"prompt": "a"},
            {"prompt": "b", "seed": -1},
            {"prompt": "a", "seed": 3},
            {"prompt": "c"},
        ):
            response = http.post(
                mock.endpoint, json=body, timeout=30, headers={"x-api-key": mock.api_key}
            )
            answers.append(
                (
                    response.headers["x-seed-value"],
                    response.headers["x-request-id"],
                    response.content,
                )
            )
        return answers


def test_two_servers_with_the_same_seed_answer_identically():
    first, second = _session(seed=11), _session(seed=11)
    assert first == second
    other = _session(seed=12)
    assert [a[1] for a in other] != [a[1] for a in first], "request ids follow the seed"
    assert other[0][0] != first[0][0], "picked seeds follow the seed"
    assert other[2][2] == first[2][2], "an explicit seed gives the same image on any server"


def test_reset_replays_the_seeded_sequence(make_mock):
    segmind = make_mock(seed=5)
    before = [segmind.render(seed=-1).headers["x-seed-value"] for _ in range(3)]
    segmind.mock.reset()
    after = [segmind.render(seed=-1).headers["x-seed-value"] for _ in range(3)]
    assert before == after


def test_without_a_seed_servers_differ():
    assert _session(seed=None)[0][1] != _session(seed=None)[0][1]
