"""Thumbnails are decoded images, stored re-encoded: orientation applied, metadata gone, at most 1920 px.

Every image here is a real one made with Pillow; each test looks at the object stored in S3.
"""

from __future__ import annotations

import io
import random
import struct
import subprocess
import sys
import zlib

import boto3
import pytest
from PIL import Image, ImageDraw, PngImagePlugin

from tests.support import multipart, user_id

CREATOR = user_id(1)
RED, BLUE = (255, 0, 0), (0, 0, 255)
GPS_SECRET = (41, 0, 46)  # degrees, minutes, seconds of a home address, say
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description about="secret-xmp-location"/></rdf:RDF></x:xmpmeta>'


@pytest.fixture
def creator(api):
    api.add_user(CREATOR)


def upload(api, content: bytes, filename: str = "photo", content_type: str = "application/octet-stream"):
    body, multipart_type = multipart({"title": "With a picture", "thumbnail": (filename, content, content_type)})
    return api.post("/api/v1/live-stream/create", body=body, headers={"Content-Type": multipart_type}, user=CREATOR)


def stored(aws, stream) -> tuple[bytes, str, str]:
    """(bytes, content type, key) of the stream's thumbnail in the bucket."""
    key = stream["thumbnailUrl"].removeprefix("https://cdn.test/thumbs/")
    obj = boto3.client("s3").get_object(Bucket=aws.names["ThumbnailBucket"], Key=key)
    return obj["Body"].read(), obj["ContentType"], key


def bucket_keys(aws) -> list[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket=aws.names["ThumbnailBucket"])
    return [o["Key"] for o in listing.get("Contents", [])]


def two_tone(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue: where the halves end up shows the orientation applied."""
    image = Image.new(mode, (width, height), BLUE if mode == "RGB" else (*BLUE, 255))
    ImageDraw.Draw(image).rectangle((0, 0, width // 2 - 1, height - 1), fill=RED if mode == "RGB" else (*RED, 255))
    return image


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def exif_with_gps_and_orientation(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", GPS_SECRET, "E", (28, 58, 36)
    return exif


def near(pixel, colour) -> bool:
    return all(abs(a - b) <= 40 for a, b in zip(pixel[:3], colour, strict=True))


# ---------------------------------------------------------------- accepted, re-encoded


def test_a_phone_jpeg_is_stored_upright_without_exif_or_gps(api, aws, creator):
    """Orientation 6 (rotate 90° clockwise to display): the stored picture is upright, 200×400, and
    carries neither the EXIF block nor the GPS position nor the camera make."""
    original = encode(two_tone(400, 200), "JPEG", exif=exif_with_gps_and_orientation(6), quality=95)
    assert b"Exif" in original and b"PhoneMaker" in original  # the test image really carries them
    reply = upload(api, original, "IMG_0001.JPG", "image/jpeg")
    assert reply.status == 201, reply.json
    content, content_type, key = stored(aws, reply.data)
    assert content_type == "image/jpeg" and key == f"thumbnails/{reply.data['id']}.jpg"
    assert b"Exif" not in content and b"PhoneMaker" not in content
    image = Image.open(io.BytesIO(content))
    assert image.format == "JPEG" and image.size == (200, 400)
    assert dict(image.getexif()) == {} and "exif" not in image.info
    rgb = image.convert("RGB")
    assert near(rgb.getpixel((100, 50)), RED) and near(rgb.getpixel((100, 350)), BLUE)  # left half went to the top


def test_a_jpeg_comment_and_xmp_are_removed(api, aws, creator):
    original = encode(two_tone(64, 48), "JPEG", comment=b"shot at 12 Secret Street", xmp=XMP)
    assert b"Secret Street" in original and b"secret-xmp-location" in original
    content, _, _ = stored(aws, upload(api, original).data)
    assert b"Secret Street" not in content and b"secret-xmp-location" not in content
    assert "comment" not in Image.open(io.BytesIO(content)).info


def test_a_large_png_with_text_chunks_is_shrunk_to_1920_and_loses_its_text(api, aws, creator):
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "taken at 12 Secret Street")
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    original = encode(two_tone(3000, 2000), "PNG", pnginfo=info)
    assert b"Secret Street" in original
    reply = upload(api, original, "big.png", "image/png")
    assert reply.status == 201, reply.json
    content, content_type, key = stored(aws, reply.data)
    assert content_type == "image/png" and key.endswith(".png")
    assert b"Secret Street" not in content and b"tEXt" not in content and b"iTXt" not in content and b"secret-xmp" not in content
    image = Image.open(io.BytesIO(content))
    assert image.size == (1920, 1280)
    assert near(image.convert("RGB").getpixel((10, 640)), RED) and near(image.convert("RGB").getpixel((1900, 640)), BLUE)


def test_a_tall_image_keeps_its_aspect_with_the_longest_side_1920(api, aws, creator):
    content, _, _ = stored(aws, upload(api, encode(two_tone(1000, 4000), "JPEG")).data)
    assert Image.open(io.BytesIO(content)).size == (480, 1920)


def test_a_small_image_is_not_enlarged(api, aws, creator):
    content, _, _ = stored(aws, upload(api, encode(two_tone(300, 120), "PNG")).data)
    assert Image.open(io.BytesIO(content)).size == (300, 120)


def test_a_webp_with_exif_and_xmp_is_stored_as_webp_without_them(api, aws, creator):
    """... and keeps its transparency."""
    picture = two_tone(800, 400, "RGBA")
    ImageDraw.Draw(picture).rectangle((0, 0, 99, 99), fill=(0, 0, 0, 0))
    original = encode(picture, "WEBP", exif=exif_with_gps_and_orientation(1), xmp=XMP, lossless=True)
    assert b"PhoneMaker" in original and b"secret-xmp-location" in original
    reply = upload(api, original, "x.webp", "image/webp")
    assert reply.status == 201, reply.json
    content, content_type, key = stored(aws, reply.data)
    assert content_type == "image/webp" and key.endswith(".webp")
    assert b"PhoneMaker" not in content and b"EXIF" not in content and b"XMP " not in content and b"secret-xmp" not in content
    image = Image.open(io.BytesIO(content))
    assert image.format == "WEBP" and image.size == (800, 400)
    assert image.convert("RGBA").getpixel((50, 50))[3] == 0 and near(image.convert("RGBA").getpixel((300, 300)), RED)


def test_the_file_name_and_declared_type_do_not_decide(api, aws, creator):
    """A PNG uploaded as ``photo.jpg`` with ``image/jpeg`` is stored as the PNG it is."""
    reply = upload(api, encode(two_tone(40, 20), "PNG"), "photo.jpg", "image/jpeg")
    content, content_type, key = stored(aws, reply.data)
    assert content_type == "image/png" and key.endswith(".png") and content.startswith(b"\x89PNG")


def test_exactly_40_megapixels_is_accepted(api, aws, creator):
    original = encode(Image.new("1", (8000, 5000), 1), "PNG")
    reply = upload(api, original)
    assert reply.status == 201, reply.json
    assert Image.open(io.BytesIO(stored(aws, reply.data)[0])).size == (1920, 1200)


# ---------------------------------------------------------------- refused


def _refused(reply, status: int) -> None:
    canonical = {413: "Payload too large", 415: "Unsupported media type"}[status]
    assert reply.status == status, reply.json
    assert reply.json["isSuccess"] is False and reply.data is None and reply.errors[0] == canonical
    assert reply.errors[1].startswith("thumbnail: ")


def test_over_40_megapixels_is_413(api, aws, creator):
    """A real 50-megapixel PNG (a few kB compressed): refused from its header."""
    original = encode(Image.new("1", (10_000, 5_000), 0), "PNG")
    assert len(original) < 100_000
    _refused(upload(api, original), 413)
    assert bucket_keys(aws) == []


def test_a_huge_dimension_header_is_413_before_any_pixel_is_decoded(api, aws, creator, monkeypatch):
    """A 64×64 PNG whose header claims 60,000×60,000 (3.6 gigapixels; Pillow's own guard would raise):
    413, and no decoder is ever run."""
    png = bytearray(encode(Image.new("RGB", (64, 64), RED), "PNG"))
    assert png[12:16] == b"IHDR"
    png[16:24] = struct.pack(">II", 60_000, 60_000)
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])))
    loads = []
    real_load = Image.Image.load
    monkeypatch.setattr(Image.Image, "load", lambda self: loads.append(self.size) or real_load(self))
    _refused(upload(api, bytes(png)), 413)
    assert loads == []
    assert bucket_keys(aws) == []


def test_a_jpeg_just_over_40_megapixels_is_413(api, aws, creator):
    """Between Pillow's warning and its error (40–80 megapixels) is still over the limit."""
    original = encode(Image.new("L", (8001, 5000), 128), "JPEG", quality=10)
    _refused(upload(api, original), 413)


def test_a_gif_is_415(api, aws, creator):
    _refused(upload(api, encode(two_tone(40, 20), "GIF"), "x.gif", "image/gif"), 415)
    assert bucket_keys(aws) == []


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_a_truncated_image_is_415(api, aws, creator, fmt):
    noise = Image.frombytes("RGB", (256, 256), random.Random(7).randbytes(256 * 256 * 3))
    original = encode(noise, fmt)
    _refused(upload(api, original[: len(original) // 2]), 415)
    assert bucket_keys(aws) == []


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_a_real_header_glued_to_garbage_is_415(api, aws, creator, fmt):
    """A file that only starts like an image: the first bytes of a real one, then noise."""
    original = encode(two_tone(200, 100), fmt)
    _refused(upload(api, original[:40] + random.Random(11).randbytes(5000)), 415)


@pytest.mark.parametrize("content", [b"\xff\xd8\xff\xe0" + b"0" * 64, b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"0" * 64, b"\x89PNG\r\n\x1a\n"])
def test_magic_bytes_alone_are_415(api, aws, creator, content):
    _refused(upload(api, content), 415)


def test_over_4_mib_is_413_before_decoding(api, aws, creator):
    """Noise does not compress: a real PNG just over 4 MiB."""
    noise = Image.frombytes("RGB", (1200, 1200), random.Random(3).randbytes(1200 * 1200 * 3))
    original = encode(noise, "PNG", compress_level=0)
    assert len(original) > 4 * 1024 * 1024
    _refused(upload(api, original), 413)


# ---------------------------------------------------------------- cost


def test_pillow_is_loaded_only_when_a_thumbnail_is_sent():
    code = (
        "import sys; sys.path[:0] = ['layers/common', 'functions/create_stream'];"
        "import os; os.environ.setdefault('TABLE_NAME', 't'); os.environ.setdefault('AWS_DEFAULT_REGION', 'us-east-1');"
        "import app, livestream.media, livestream.streams;"
        "assert not [m for m in sys.modules if m == 'PIL' or m.startswith('PIL.')], 'PIL imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr[-2000:]


def test_an_empty_file_part_is_no_thumbnail(api, aws, creator):
    """Forms send an empty file part when no file was chosen: the stream gets the default thumbnail."""
    reply = upload(api, b"")
    assert reply.status == 201 and "/thumbnails/" not in reply.data["thumbnailUrl"]
    assert bucket_keys(aws) == []
