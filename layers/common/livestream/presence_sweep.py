"""The sweep of stale viewers: every minute, each viewer whose presence deadline passed is removed, as a
leave would (docs/presence.md).

A viewer's participant item carries ``presenceDeadline`` and the sparse ExpiryIndex keys (a partition per
minute of deadline and shard, :mod:`livestream.store.presence`). The sweep reads the cursor (the last minute
fully swept), then each minute from there to now: the minute's shards at once, only the entries already
expired; each viewer read is removed with the leave's conditional write, conditioned on the deadline it
read (a viewer renewed or confirmed meanwhile stays), several at once. Overlapping sweeps are harmless
(each removal is conditional) and the cursor only moves forward.

Kept apart from :mod:`livestream.presence` (the Agora webhook) so that the sweep loads neither the join
and leave logic nor the secrets and token code the webhook needs.

DynamoDB round trips: 1 GetItem (cursor); per minute swept, one Query per ExpiryIndex shard, sent
together (every page); one UpdateItem per expired viewer, up to 8 at once; 1 UpdateItem (cursor).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Optional

from livestream import clock
from livestream.clock import iso
from livestream.observability import logger
from livestream.store import presence as stored

FIRST_LOOKBACK_MINUTES = 60  # a first sweep (no cursor yet) reaches an hour back
SWEEP_RESERVE_MS = 5_000  # the sweep stops with this much time left, so that it records how far it got


def sweep(at: Optional[datetime] = None, time_left_ms: Callable[[], int] = lambda: 60_000) -> dict[str, Any]:
    """Remove every viewer whose deadline is past, as a leave would, reading only expired entries of
    ExpiryIndex: the minute buckets from the cursor (last minute fully swept) to ``at``, each over its
    shards. Overlapping sweeps are harmless (each removal is conditional on the deadline it saw)."""
    at = at or clock.now()
    now_iso = iso(at) or ""
    swept = stored.sweep_cursor()
    start = swept or _minute(at - timedelta(minutes=FIRST_LOOKBACK_MINUTES))
    minute = _next_minute(swept) if swept else start
    removed, seen, completed = _sweep_from(minute, now_iso, time_left_ms)
    if completed:
        stored.advance_sweep(completed)
    result = {"removed": removed, "expired": seen, "through": completed or start}
    logger.info("presence sweep", extra=result)
    return result


def _sweep_from(minute: str, now_iso: str, time_left_ms: Callable[[], int]) -> tuple[int, int, Optional[str]]:
    """Drop the expired viewers minute after minute from ``minute`` to now, while time lasts; answers
    (removed, expired entries read, the last past minute read completely)."""
    current = now_iso[:16]
    removed = seen = 0
    completed: Optional[str] = None
    while minute <= current and time_left_ms() > SWEEP_RESERVE_MS:
        expired = stored.expired(minute, now_iso)
        seen += len(expired)
        removed += stored.drop_stale(expired)
        if minute < current:
            completed = minute  # every deadline of a past minute has been read
        minute = _next_minute(minute)
    return removed, seen, completed


def _minute(at: datetime) -> str:
    return (iso(at) or "")[:16]


def _next_minute(minute: str) -> str:
    return _minute(datetime.fromisoformat(minute + ":00+00:00") + timedelta(minutes=1))
