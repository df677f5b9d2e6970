"""Upcoming streams of a user (v1 and v2): live ones first, then scheduled ones by planned start.

Served from MemberIndex (one entry per creator / broadcaster / guest of a live or scheduled stream):
live entries sort under ``A#<startedAt>``, scheduled ones under ``S#<plannedStartDate>``, so the
time window is a key range. Round trips: 2 Query sent together (up to ``limit`` live and ``limit``
scheduled entries: the page is the live ones, then as many scheduled as fit) + BatchGetItem of the
streams, and for a signed-in caller their participations and (v2) reminders — one request per 100 keys.
When the index lists no stream for the user, one GetItem of their profile instead of the BatchGetItem:
a synced user gets an empty list, a user id the user service never synced is 404 (``userId: no user <id>``).

The target user's profile is read only then: a user with a listed stream exists (create accepted
them), each stream carries the summaries copied at creation, and a creator whose profile was not
synced yet is listed with the same summary the stream shows (the id, every other field ``null``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Optional

from livestream.clock import iso, now
from livestream.dispatch import Query
from livestream.errors import NotFound
from livestream.queries import QueryInt
from livestream.store import parallel
from livestream.store import streams as stored
from livestream.store import users as stored_users
from livestream.streams import role_of, to_api


def upcoming(
    user_id: str, caller: Optional[str], *, limit: int, minutes_before: int, minutes_after: int, with_reminders: bool
) -> list[dict[str, Any]]:
    """Up to ``limit`` upcoming streams of ``user_id`` as ``caller`` sees them (round trips: the module's);
    404 when no stream is listed and the user service never synced the user."""
    current = now()
    low, high = iso(current - timedelta(minutes=minutes_before)) or "", iso(current + timedelta(minutes=minutes_after)) or ""
    live, scheduled = parallel.run(lambda: stored.live_ids(user_id, limit), lambda: stored.scheduled_ids(user_id, low, high, limit))
    stream_ids = (live + scheduled)[:limit]
    if not stream_ids:
        if not stored_users.profile_exists(user_id):
            raise NotFound(f"userId: no user {user_id}")
        return []
    readings = stored.read(stream_ids, caller, reminders=with_reminders)
    # the index is eventually consistent: a stream that just ended may still be listed there
    return [_listed(r, caller, with_reminders) for r in readings if r.stream is not None and r.stream.status.upcoming]


def _listed(reading: stored.Reading, caller: Optional[str], with_reminders: bool) -> dict[str, Any]:
    assert reading.stream is not None
    item = to_api(reading.stream, role_of(reading.stream, caller, reading.part))
    if with_reminders:
        # on while the item exists and is not switched off (a reminder turned off after it was sent is kept)
        reminder = reading.reminder
        item["isReminderActive"] = None if caller is None else reminder is not None and reminder.get("active") is not False
    return item


MAX_MINUTES = 525_600  # a year: the widest window a client may ask, keeping the key range meaningful

# the query parameters v1 and v2 share (each function declares its own route with them)
Limit = Annotated[QueryInt, Query(ge=1, le=100, description="Max stream count")]
MinutesBefore = Annotated[QueryInt, Query(ge=0, le=MAX_MINUTES, description="Minutes before now for scheduled streams")]
MinutesAfter = Annotated[QueryInt, Query(ge=0, le=MAX_MINUTES, description="Minutes after now for scheduled streams")]
