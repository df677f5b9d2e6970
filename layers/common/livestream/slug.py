"""Channel names: a slug of the title plus a short random suffix (docs/api.md, "Streams")."""

from __future__ import annotations

import re
import secrets
import string
import unicodedata

MAX_LENGTH = 64
SUFFIX_LENGTH = 6
_TURKISH = {"ç": "c", "ğ": "g", "ı": "i", "ö": "o", "ş": "s", "ü": "u", "Ç": "c", "Ğ": "g", "İ": "i", "I": "i", "Ö": "o", "Ş": "s", "Ü": "u"}
# letters whose mark Unicode does not decompose (strokes, ligatures): folded by hand, not dropped with the mark
_UNDECOMPOSED = {"ł": "l", "ø": "o", "đ": "d", "ð": "d", "ħ": "h", "ŧ": "t", "ß": "ss", "æ": "ae", "œ": "oe", "þ": "th"}
_FOLDS = str.maketrans({**_TURKISH, **_UNDECOMPOSED, **{k.upper(): v for k, v in _UNDECOMPOSED.items() if k != "ß"}, "ẞ": "ss"})
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_ALPHABET = string.ascii_lowercase + string.digits


def fold(text: str) -> str:
    """Lowercase, Turkish letters folded (ç→c, ğ→g, ı/İ/I→i, ö→o, ş→s, ü→u), other accents stripped
    (strokes and ligatures too: ł→l, ø→o, đ→d, ß→ss, æ→ae).

    Used for channel names and for case- and accent-insensitive search, so ``I``, ``ı`` and ``i`` match.
    """
    text = text.translate(_FOLDS)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def slugify(title: str) -> str:
    """``"Yeni ürün tanıtımı"`` → ``"yeni-urun-tanitimi"``; ``"live"`` when nothing is left."""
    return _NOT_SLUG.sub("-", fold(title)).strip("-") or "live"


def channel_name(title: str) -> str:
    """Slug, ``-``, and a random lowercase suffix; at most 64 characters, never ending in ``-``."""
    suffix = "".join(secrets.choice(_ALPHABET) for _ in range(SUFFIX_LENGTH))
    base = slugify(title)[: MAX_LENGTH - SUFFIX_LENGTH - 1].rstrip("-") or "live"
    return f"{base}-{suffix}"
