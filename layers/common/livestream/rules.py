"""The rules of the contract's text and time values, as plain functions: pydantic-free, so that both the
request types validated by pydantic-core alone (:mod:`livestream.schemas`) and the pydantic models of
the OpenAPI document (:mod:`livestream.models`) use the same ones."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

from livestream.clock import iso

# ---------------------------------------------------------------- strict text
# Every text field: valid Unicode (no lone surrogates: JSON's "\ud800" escapes decode to them), no C0
# control (U+0000–U+001F), DEL or C1 control (U+0080–U+009F); multi-line fields keep \t, \n, \r.

_SURROGATES = re.compile("[\ud800-\udfff]")
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROLS_BUT_BREAKS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# letters that render as nothing: Hangul fillers and the blank Braille pattern
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def check_text(value: Any, *, line_breaks: bool = False) -> Any:
    if not isinstance(value, str):
        return value
    if _SURROGATES.search(value):
        raise ValueError("must be valid Unicode text (it holds a lone surrogate)")
    if (_CONTROLS_BUT_BREAKS if line_breaks else _CONTROLS).search(value):
        raise ValueError("must not contain control characters" + (" other than tabs and line breaks" if line_breaks else ""))
    return value


def has_visible_character(value: str) -> bool:
    """A letter, digit, punctuation mark or symbol that shows: zero-width, format (Cf), space and
    combining characters alone are empty."""
    return any(unicodedata.category(c)[0] in "LNPS" and c not in _BLANK_GLYPHS for c in value)


ISO_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}")  # the start of one: no bare dates or Unix seconds


def api_time(value: str) -> str:
    """An ISO 8601 date-time (any offset or precision; none is UTC) as the API shows every timestamp."""
    if not ISO_DATE_TIME.match(value):
        raise ValueError("must be an ISO 8601 date-time")
    try:
        parsed = datetime.fromisoformat(value)
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValueError("must be an ISO 8601 date-time") from None
    return iso(parsed)
