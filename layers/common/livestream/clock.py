"""Time helpers: every timestamp the API shows is ISO 8601 UTC with milliseconds and ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


def now() -> datetime:
    return datetime.now(UTC)


# each helper answers None for None and a value for a value: the overloads tell the type checker so


@overload
def iso(value: datetime) -> str: ...
@overload
def iso(value: None) -> None: ...
@overload
def iso(value: datetime | None) -> str | None: ...
def iso(value: datetime | None) -> str | None:
    """``2026-01-15T10:30:00.000Z`` for an aware datetime, ``None`` for ``None``."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


@overload
def parse_iso(value: str) -> datetime: ...
@overload
def parse_iso(value: None) -> None: ...
@overload
def parse_iso(value: str | None) -> datetime | None: ...
def parse_iso(value: str | None) -> datetime | None:
    """Inverse of :func:`iso` (accepts any ISO 8601 form ``datetime.fromisoformat`` reads)."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


@overload
def to_millis(value: datetime) -> int: ...
@overload
def to_millis(value: None) -> None: ...
@overload
def to_millis(value: datetime | None) -> int | None: ...
def to_millis(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)
