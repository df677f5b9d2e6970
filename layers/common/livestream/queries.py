"""Types of query parameters, for the functions that read a query (pydantic validates them)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from livestream.rules import check_text

_ASCII_INTEGER = re.compile(r"-?[0-9]{1,16}")


def _ascii_integer(value: Any) -> Any:
    if isinstance(value, str) and not _ASCII_INTEGER.fullmatch(value):
        raise ValueError("must be a whole number")  # in ASCII digits
    return value


QueryInt = Annotated[int, BeforeValidator(_ascii_integer)]
"""An integer query parameter: ASCII digits only (no ``１２``, ``1e3``, ``1_000``, ``+5`` or spaces)."""
QueryText = Annotated[str, AfterValidator(check_text)]
"""A text query parameter: valid Unicode, no control characters."""
