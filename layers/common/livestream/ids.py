"""Ids: 24 lowercase hex characters, as the app's other services use (MongoDB ObjectId layout)."""

from __future__ import annotations

import os
import re
import time

ID_PATTERN = r"^[0-9a-f]{24}$"
_ID_RE = re.compile(ID_PATTERN)


def new_id() -> str:
    """4 bytes of Unix seconds then 8 random bytes: sortable by creation second, unguessable."""
    return f"{int(time.time()):08x}{os.urandom(8).hex()}"


def is_id(value: object) -> bool:
    return isinstance(value, str) and _ID_RE.fullmatch(value) is not None  # not match: "$" also matches before a final "\n"
