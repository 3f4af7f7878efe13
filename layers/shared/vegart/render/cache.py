"""The render cache in S3: read-through, and never a reason for a request to fail.

A miss, a missing bucket, a throttled or unreachable S3 all look the same to the caller: no
image. Faults are logged and counted (``CacheErrors``) so that an operator sees them, while
the request carries on as a miss. Only complete JPEGs of the contract's size are written,
and an object that fails the same check on the way out is ignored, so a corrupt object can
never be served.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from vegart.aws import error_code
from vegart.observability import logger, metrics
from vegart.render.jpeg import MAX_JPEG_BYTES, is_valid_render

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


class RenderCache:
    """Renders stored as S3 objects under their cache keys."""

    def __init__(
        self,
        bucket: str,
        s3: Callable[[], S3Client],
        signer: Callable[[], S3Client] | None = None,
    ) -> None:
        self._bucket = bucket
        self._s3 = s3
        self._signer = signer or s3

    def get(self, key: str) -> bytes | None:
        """The cached image, or None for a miss and for any fault of S3."""
        try:
            response = self._s3().get_object(Bucket=self._bucket, Key=key)
            if int(response.get("ContentLength") or 0) > MAX_JPEG_BYTES:
                response["Body"].close()
                image = b""  # no render is that large: not read into memory, ignored below
            else:
                image = response["Body"].read()
        except ClientError as exc:
            if error_code(exc) not in _MISSING:
                self._fault("read", exc)
            return None
        except BotoCoreError as exc:
            self._fault("read", exc)
            return None
        if not is_valid_render(image):
            logger.warning(
                "Ignoring a cached object that is not a valid render", extra={"key": key}
            )
            metrics.add_metric(name="CacheCorruptObjects", unit="Count", value=1)
            return None
        return bytes(image)

    def put(self, key: str, image: bytes, metadata: Mapping[str, str]) -> bool:
        """Store a render; returns whether it was stored. Invalid images are refused."""
        if not is_valid_render(image):
            logger.warning("Refusing to cache an invalid render", extra={"key": key})
            return False
        try:
            self._s3().put_object(
                Bucket=self._bucket,
                Key=key,
                Body=image,
                ContentType="image/jpeg",
                Metadata=dict(metadata),
            )
        except (ClientError, BotoCoreError) as exc:
            self._fault("write", exc)
            return False
        return True

    def url_for(self, key: str, seconds: int) -> str:
        """A presigned GET of the render under ``key``, valid for ``seconds``.

        Signing is arithmetic on the function's credentials, with no call to S3, so a status
        poll that hands out a fresh URL costs nothing; the bucket itself stays private. The
        answer says ``image/jpeg`` and may be kept by a browser for as long as the URL lives.
        """
        return self._signer().generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self._bucket,
                "Key": key,
                "ResponseContentType": "image/jpeg",
                "ResponseCacheControl": f"private, max-age={seconds}, immutable",
            },
            ExpiresIn=seconds,
        )

    @staticmethod
    def _fault(operation: str, exc: Exception) -> None:
        code = error_code(exc) if isinstance(exc, ClientError) else None
        logger.warning(
            "Render cache unavailable; serving as a miss",
            extra={"operation": operation, "error": type(exc).__name__, "code": code},
        )
        metrics.add_metric(name="CacheErrors", unit="Count", value=1)
