"""The S3 render cache: read-through, only valid JPEGs in, and every S3 fault a miss."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config

from mock_server import render_jpeg
from vegart.render.cache import RenderCache

KEY = "v1/segmind/segmind-vega-rt-v1/abc.jpg"
IMAGE = render_jpeg("a fox", 1, 4)


@pytest.fixture
def cache(s3: Any, aws: dict[str, Any]) -> RenderCache:
    return RenderCache(aws["bucket"], lambda: s3)


def test_a_stored_render_is_read_back_with_its_metadata(
    cache: RenderCache, s3: Any, aws: dict[str, Any]
) -> None:
    assert cache.get(KEY) is None
    assert cache.put(KEY, IMAGE, {"seed": "1", "prompt-sha256": "f" * 64})
    assert cache.get(KEY) == IMAGE
    head = s3.head_object(Bucket=aws["bucket"], Key=KEY)
    assert head["ContentType"] == "image/jpeg"
    assert head["Metadata"] == {"seed": "1", "prompt-sha256": "f" * 64}


@pytest.mark.parametrize("image", [b"", b"<html>", IMAGE[: len(IMAGE) // 2]])
def test_only_a_valid_render_is_written(
    cache: RenderCache, s3: Any, aws: dict[str, Any], image: bytes
) -> None:
    assert not cache.put(KEY, image, {})
    assert s3.list_objects_v2(Bucket=aws["bucket"]).get("KeyCount") == 0


def test_a_corrupt_object_is_a_miss_not_an_answer(
    cache: RenderCache, s3: Any, aws: dict[str, Any]
) -> None:
    s3.put_object(Bucket=aws["bucket"], Key=KEY, Body=IMAGE[:1000])
    assert cache.get(KEY) is None


def test_a_missing_bucket_is_a_miss_and_a_failed_write(s3: Any) -> None:
    cache = RenderCache("no-such-bucket", lambda: s3)
    assert cache.get(KEY) is None
    assert not cache.put(KEY, IMAGE, {})


def test_an_unreachable_s3_is_a_miss_and_a_failed_write(aws: dict[str, Any]) -> None:
    # A closed port on loopback: every call fails to connect, quickly.
    dead = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:9",
        config=Config(connect_timeout=0.2, read_timeout=0.2, retries={"max_attempts": 1}),
    )
    cache = RenderCache(aws["bucket"], lambda: dead)
    assert cache.get(KEY) is None
    assert not cache.put(KEY, IMAGE, {})


def test_s3_faults_are_counted(cache: RenderCache, aws: dict[str, Any]) -> None:
    from vegart.observability import metrics

    metrics.clear_metrics()
    RenderCache("no-such-bucket", cache._s3).get(KEY)
    assert "CacheErrors" in metrics.metric_set
    metrics.clear_metrics()


def test_a_cached_object_too_large_for_an_image_is_not_read(aws: dict[str, Any]) -> None:
    s3 = boto3.client("s3")
    s3.put_object(Bucket=str(aws["bucket"]), Key="v1/planted.jpg", Body=b"\xff" * (9 * 2**20))
    cache = RenderCache(str(aws["bucket"]), lambda: s3)
    assert cache.get("v1/planted.jpg") is None
