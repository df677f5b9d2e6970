"""``GET /v1/live-events``: streams as the live platform's "live events", filtered and paged.

Mapping: ``live_event_id`` = stream id; ``state`` created (scheduled) / ongoing (active) / ended
(ended or cancelled); ``host_type`` single_host (solo) / multi_host (multi). Times are Unix ms.
Order: newest ``created_at`` first.

  filters.py   the query parameters checked into :class:`Filters`
  reader.py    candidate streams read in page order from the most selective index, within a budget
  events.py    the filters applied to a stream, and a stream as a live event
  cursor.py    the signed, opaque ``next`` / ``prev`` cursors
  errors.py    errors in the platform's shape
"""

from __future__ import annotations

from typing import Any, Optional

from livestream.live_events.cursor import cursor_key, make_cursor, read_cursor
from livestream.live_events.errors import PlatformError, error_body
from livestream.live_events.events import to_live_event
from livestream.live_events.filters import MAX_COUNT, MAX_MILLIS, Filters, parse_filters
from livestream.live_events.reader import Reader, sort_key
from livestream.store import live_events as stored
from livestream.store.streams import Stream

__all__ = ["MAX_COUNT", "MAX_MILLIS", "PlatformError", "cursor_key", "error_body", "list_live_events"]


def list_live_events(params: dict[str, Any], cursor_key: bytes) -> dict[str, Any]:
    """One page of live events for the query parameters (``limit``, filters, ``next`` or ``prev``)."""
    filters, position, direction = _position(params, cursor_key)
    limit = params["limit"]
    descending = direction == "next"
    reader = Reader(filters, position, descending)
    found = reader.collect(limit + 1)  # one more than a page tells whether anything lies beyond it
    page = found[:limit]
    # where reading stopped: after the page, or at the last item read when the budget ran out first
    resume_at = sort_key(page[-1]) if len(found) > limit else reader.last_read
    beyond = len(found) > limit or reader.budget_hit
    if not descending:
        page.reverse()
    parts = stored.creator_parts(page)
    events = [to_live_event(s, parts[s.id]) for s in page]
    next_at, prev_at = _around(page, position, descending, resume_at if beyond else None)
    return {
        "live_events": events,
        "next": make_cursor(cursor_key, next_at, "next", filters) if next_at else None,
        "prev": make_cursor(cursor_key, prev_at, "prev", filters) if prev_at else None,
    }


def _around(page: list[Stream], position: Optional[str], descending: bool, resume_at: Optional[str]) -> tuple[Optional[str], Optional[str]]:
    """The positions of the ``next`` and ``prev`` cursors of a page in display order (``None``: no
    cursor): ahead, where reading stopped if anything lies beyond; behind, where we came from."""
    came_from = position is not None  # something lies behind the page, where we came from
    newest, oldest = (sort_key(page[0]), sort_key(page[-1])) if page else (position, position)
    if descending:
        return resume_at, (newest if came_from else None)
    return (oldest if came_from else None), resume_at


def _position(params: dict[str, Any], key: bytes) -> tuple[Filters, Optional[str], str]:
    """The filters, the position and direction to read from: the start, or a ``next`` / ``prev``
    cursor (made for the same filters, or given without filters)."""
    if params.get("prev") is not None and params.get("next") is not None:
        raise PlatformError("prev and next cannot be used together")
    filters = parse_filters(params)
    for name in ("next", "prev"):
        if params.get(name) is not None:
            position, direction, made_for = read_cursor(key, params[name], name)
            if direction != name:
                raise PlatformError(f"{name}: invalid cursor")
            if filters != made_for and filters != Filters():
                raise PlatformError(f"{name}: the cursor was made for other filters")
            return made_for, position, direction
    return filters, None, "next"
