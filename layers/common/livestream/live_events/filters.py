"""The listing's query parameters (already typed by the resolver) checked into :class:`Filters`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from livestream.ids import is_id
from livestream.live_events.errors import PlatformError
from livestream.store.streams import StreamStatus

MAX_MILLIS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: timestamps beyond year 9999 are 400
MAX_COUNT = 2**53 - 1  # the largest integer a JavaScript client reads exactly
MAX_IDS = 10  # ids per list filter: one BatchGetItem, a bounded filter on the items read

# the platform's states; `ready` (set up, not started) has no stream status, so it lists nothing
STATES = ("created", "ready", "ongoing", "ended")
HOST_TYPES = {"single_host": "solo", "multi_host": "multi"}


def statuses(state: str) -> list[StreamStatus]:
    """The stream statuses shown as the platform's ``state``."""
    return [s for s in StreamStatus if s.live_event_state == state]


@dataclass
class Filters:
    host_types: list[str] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    created_from: Optional[int] = None  # inclusive, ms
    created_before: Optional[int] = None  # exclusive
    started_from: Optional[int] = None  # inclusive
    started_before: Optional[int] = None  # exclusive
    participants_gte: Optional[int] = None  # inclusive
    participants_lte: Optional[int] = None  # inclusive
    ids: list[str] = field(default_factory=list)
    creators: list[str] = field(default_factory=list)
    duration_gte: Optional[int] = None  # inclusive, ms
    duration_lt: Optional[int] = None  # exclusive ("less than", as the platform words it)
    title_contains: Optional[str] = None
    current_host: Optional[str] = None


def parse_filters(params: dict[str, Any]) -> Filters:
    """Validate the platform's query parameters into filters (400 naming the parameter)."""
    states = _one_of(params, "state", STATES)
    host_types = _one_of(params, "host_type", tuple(HOST_TYPES))
    current_host = params.get("current_host_user_id")
    if current_host is not None and not is_id(current_host):
        raise PlatformError(f"current_host_user_id: {current_host!r} is not a valid id")
    _check_ranges(params)
    title = params.get("title_contains")
    return Filters(
        host_types=host_types,
        states=states,
        created_from=params.get("created_at_start_date"),
        created_before=params.get("created_at_end_date"),
        started_from=params.get("started_at_start_date"),
        started_before=params.get("started_at_end_date"),
        participants_gte=params.get("participant_count_range_gte"),
        participants_lte=params.get("participant_count_range_lte"),
        ids=_ids(params, "live_event_id", "live_event_ids"),
        creators=_ids(params, "created_by_user_id", "created_by_user_ids"),
        duration_gte=params.get("duration_range_gte"),
        duration_lt=params.get("duration_range_lte"),
        title_contains=title.casefold() if title else None,
        current_host=current_host,
    )


def _one_of(params: dict[str, Any], name: str, allowed: tuple[str, ...]) -> list[str]:
    values = _split(params.get(name), name)
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise PlatformError(f"{name}: {unknown[0]!r} is not one of {', '.join(allowed)}")
    return values


def _ids(params: dict[str, Any], single: str, plural: str) -> list[str]:
    """Ids given one (``single``) or several (``plural``, comma-separated) at a time, not both."""
    one, many = params.get(single), params.get(plural)
    if one is not None and many is not None:
        raise PlatformError(f"{single} and {plural} cannot be used together")
    values = [one] if one is not None else _split(many, plural)
    if len(values) > MAX_IDS:
        raise PlatformError(f"{plural}: at most {MAX_IDS} values")
    bad = [v for v in values if not is_id(v)]
    if bad:
        raise PlatformError(f"{single if one is not None else plural}: {bad[0]!r} is not a valid id")
    return list(dict.fromkeys(values))


def _check_ranges(params: dict[str, Any]) -> None:
    for name in ("created_at", "started_at", "participant_count_range", "duration_range"):
        low = params.get(f"{name}_start_date" if name.endswith("_at") else f"{name}_gte")
        high = params.get(f"{name}_end_date" if name.endswith("_at") else f"{name}_lte")
        if low is not None and high is not None and low > high:
            raise PlatformError(f"{name}: the lower bound is greater than the upper bound")


def _split(value: Optional[str], name: str) -> list[str]:
    if value is None:
        return []
    parts = [p.strip() for p in value.split(",")]
    if not all(parts):
        raise PlatformError(f"{name}: empty value in a comma-separated list")
    return parts
