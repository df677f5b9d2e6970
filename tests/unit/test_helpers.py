"""Pure helpers of the layer: slugs, time format, ids, the envelope."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from livestream import clock, envelope, ids, slug
from livestream.errors import CANONICAL_MESSAGES


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Yeni ürün tanıtımı", "yeni-urun-tanitimi"),
        ("ÇĞİÖŞÜ çğıöşü", "cgiosu-cgiosu"),
        ("Crème brûlée — naïve café", "creme-brulee-naive-cafe"),
        ("Łódź, Ørsted & Đorđe", "lodz-orsted-dorde"),  # strokes are accents too: not dropped with the letter
        ("Straße Æsir Œuvre Þór", "strasse-aesir-oeuvre-thor"),
        ("  --Hello,   World!!--  ", "hello-world"),
        ("🎉🎉", "live"),
        ("", "live"),
    ],
)
def test_slugify(title, expected):
    assert slug.slugify(title) == expected


def test_channel_names_are_bounded_and_well_formed():
    for title in ("x" * 200, "a " * 100, "Ş" * 64, "!!!"):
        name = slug.channel_name(title)
        assert len(name) <= 64 and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", name), name


def test_fold_makes_turkish_i_match():
    assert slug.fold("IŞIK") == slug.fold("ışık") == slug.fold("isik") == "isik"
    assert slug.fold("İstanbul") == "istanbul"


def test_fold_makes_stroked_letters_match_their_base_letter():
    assert slug.fold("ŁUKASZ Øyvind") == slug.fold("łukasz øyvind") == "lukasz oyvind"


def test_iso_has_milliseconds_and_z():
    value = datetime(2026, 1, 15, 10, 30, 0, 123456, tzinfo=UTC)
    assert clock.iso(value) == "2026-01-15T10:30:00.123Z"
    assert clock.parse_iso("2026-01-15T10:30:00.123Z") == value.replace(microsecond=123000)
    assert clock.iso(None) is None


def test_ids():
    new = ids.new_id()
    assert ids.is_id(new) and len(new) == 24
    assert not ids.is_id("64D15F9E2E6C8F4D5A123456") and not ids.is_id("64d15f9e") and not ids.is_id(None)


def test_envelope_success_and_error():
    ok = envelope.body(201, {"a": 1})
    assert ok["isSuccess"] is True and ok["statusCode"] == 201 and ok["data"] == {"a": 1} and ok["errors"] == []
    err = envelope.body(409, {"ignored": True})
    assert err == {**err, "isSuccess": False, "statusCode": 409, "data": None, "errors": [CANONICAL_MESSAGES[409]]}
    response = envelope.ok([1, 2], status=201)
    assert response.status_code == 201 and json.loads(response.body)["data"] == [1, 2]


def test_canonical_messages_are_the_contracts():
    assert CANONICAL_MESSAGES == {
        400: "Validation failed",
        401: "Authentication required",
        403: "Insufficient permissions",
        404: "Resource not found",
        405: "Method not allowed",
        409: "Resource already exists or cannot be changed in its current state",
        413: "Payload too large",
        415: "Unsupported media type",
        429: "Too many requests",
        500: "Internal server error",
        503: "Service unavailable",
    }
