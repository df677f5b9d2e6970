"""Thumbnails: decoded as JPEG, PNG or WebP images, re-encoded without metadata, stored in S3.

A thumbnail is judged by decoding it, not by its first bytes: a file that only starts like an image
is 415. Limits, checked in this order so that no limit costs the work it protects against:

1. at most 4 MiB of bytes (413) — before anything is parsed;
2. at most 40 megapixels (413) — from the header, before a single pixel is decoded
   (decompression bombs: Pillow's own guard is set to the same limit and turned into an error);
3. it decodes completely as JPEG, PNG or WebP (415 otherwise: GIF, truncated files, garbage).

What is stored is a new encoding of the pixels: orientation applied (the EXIF orientation tag is
honoured, then dropped), every metadata block left behind (EXIF with GPS position, XMP, comments,
PNG text chunks), the longest side at most 1920 px, in the format it came in. Only the ICC colour
profile is kept, so colours look the same.

Pillow and the S3 client are loaded on first use: only the create function, and only when a
thumbnail is sent, pays for them.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from botocore.config import Config

from livestream.errors import PayloadTooLarge, UnsupportedMediaType
from livestream.settings import get_settings

MAX_THUMBNAIL_BYTES = 4 * 1024 * 1024
MAX_THUMBNAIL_PIXELS = 40_000_000
MAX_SIDE = 1920

# Pillow format name → (content type, extension, save options)
FORMATS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "JPEG": ("image/jpeg", "jpg", {"quality": 85, "optimize": True}),
    "PNG": ("image/png", "png", {"optimize": False}),
    "WEBP": ("image/webp", "webp", {"quality": 85, "method": 4}),
}
UNSUPPORTED = "thumbnail: must be a JPEG, PNG or WebP image"


@dataclass(frozen=True)
class Thumbnail:
    content: bytes
    content_type: str
    extension: str
    width: int
    height: int


def prepare_thumbnail(content: bytes) -> Thumbnail:
    """Check and re-encode an uploaded thumbnail (413 / 415 as the module says)."""
    if len(content) > MAX_THUMBNAIL_BYTES:
        raise PayloadTooLarge(f"thumbnail: must be at most {MAX_THUMBNAIL_BYTES} bytes (4 MiB)")
    from PIL import Image, ImageOps, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_THUMBNAIL_PIXELS
    too_many_pixels = PayloadTooLarge(f"thumbnail: must be at most {MAX_THUMBNAIL_PIXELS} pixels (40 megapixels)")
    try:
        with warnings.catch_warnings():
            # Pillow warns between the limit and twice the limit, and raises above: both are 413
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(content), formats=list(FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_many_pixels from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise UnsupportedMediaType(UNSUPPORTED) from None
    with image:
        width, height = image.size
        if width * height > MAX_THUMBNAIL_PIXELS:
            raise too_many_pixels
        source_format = image.format or ""
        try:
            if source_format == "JPEG":
                image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # decode a large JPEG at a reduced scale directly
            image.load()
            pixels = ImageOps.exif_transpose(image)
            pixels = _normalise_mode(pixels, source_format)
            pixels.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
            raise UnsupportedMediaType(UNSUPPORTED) from None  # truncated or corrupt pixel data
        icc_profile = image.info.get("icc_profile")
    content_type, extension, options = FORMATS[source_format]
    pixels.info = {}  # savers fall back on info for comments and profiles: nothing is carried over implicitly
    out = io.BytesIO()
    pixels.save(out, format=source_format, **options, **({"icc_profile": icc_profile} if icc_profile else {}))
    return Thumbnail(out.getvalue(), content_type, extension, pixels.width, pixels.height)


def _normalise_mode(image: Any, source_format: str) -> Any:
    """A mode the output format stores: RGB (or L) for JPEG; RGB or RGBA (transparency kept) otherwise."""
    if source_format == "JPEG":
        return image if image.mode in ("RGB", "L") else image.convert("RGB")
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    wanted = "RGBA" if has_alpha else ("L" if image.mode in ("1", "L") else "RGB")
    return image if image.mode == wanted else image.convert(wanted)


def thumbnail_key(stream_id: str, extension: str) -> str:
    return f"thumbnails/{stream_id}.{extension}"


def public_url(key: str) -> str:
    return f"{get_settings().thumbnail_base_url.rstrip('/')}/{key}"


def put_thumbnail(key: str, thumbnail: Thumbnail) -> None:
    _s3().put_object(
        Bucket=get_settings().thumbnail_bucket,
        Key=key,
        Body=thumbnail.content,
        ContentType=thumbnail.content_type,
        CacheControl="public, max-age=31536000, immutable",
    )


def delete_thumbnail(key: str) -> None:
    _s3().delete_object(Bucket=get_settings().thumbnail_bucket, Key=key)


@lru_cache(maxsize=1)
def _s3() -> Any:
    from livestream import aws

    return aws.client("s3", Config(read_timeout=5))
