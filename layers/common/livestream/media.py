"""Thumbnails: judged by their bytes (JPEG, PNG, WebP), at most 4 MiB, stored in S3.

The S3 client is created on first use: only the create function stores media.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from livestream.errors import PayloadTooLarge, UnsupportedMediaType
from livestream.settings import get_settings

MAX_THUMBNAIL_BYTES = 4 * 1024 * 1024


def sniff_image(content: bytes) -> tuple[str, str] | None:
    """``(content_type, extension)`` of a JPEG, PNG or WebP image judged by its magic bytes."""
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "png"
    if len(content) >= 12 and content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def check_thumbnail(content: bytes) -> tuple[str, str]:
    if len(content) > MAX_THUMBNAIL_BYTES:
        raise PayloadTooLarge(f"thumbnail: must be at most {MAX_THUMBNAIL_BYTES} bytes (4 MiB)")
    kind = sniff_image(content)
    if kind is None:
        raise UnsupportedMediaType("thumbnail: must be a JPEG, PNG or WebP image")
    return kind


def thumbnail_key(stream_id: str, extension: str) -> str:
    return f"thumbnails/{stream_id}.{extension}"


def public_url(key: str) -> str:
    return f"{get_settings().thumbnail_base_url.rstrip('/')}/{key}"


def put_thumbnail(key: str, content: bytes, content_type: str) -> None:
    _s3().put_object(
        Bucket=get_settings().thumbnail_bucket,
        Key=key,
        Body=content,
        ContentType=content_type,
        CacheControl="public, max-age=31536000, immutable",
    )


def delete_thumbnail(key: str) -> None:
    _s3().delete_object(Bucket=get_settings().thumbnail_bucket, Key=key)


@lru_cache(maxsize=1)
def _s3() -> Any:
    import boto3

    return boto3.client("s3")
