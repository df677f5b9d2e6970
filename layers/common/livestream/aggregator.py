"""The audience counters of a stream, maintained off the request path from the table's change stream.

Joins and leaves write only their participant (``PART#<user>`` under ``STREAM#<id>#P<n>``); the
AudienceCountsFunction reads the participants' stream records (its event source mapping's filter passes
nothing else) and folds a batch into **one** conditional UpdateItem per stream of the stream item:

  watching false → true     current +1 (cumulative +1 when the participant had never watched before:
                            ``everWatched`` appears)
  watching true → false     current −1 (a removed participant that was watching too)

Exactly once. A retried or bisected batch must not count twice, and a failure half-way must lose
nothing. The stream item keeps, per participant partition (``P<n>``), the sequence number of the last
record it has counted (``aggMarks``); DynamoDB streams deliver the records of one partition key in order,
so a record at or below its partition's mark has been counted and is skipped. The counters and the marks
move together in one UpdateItem guarded by an optimistic lock (``aggVersion`` as read), so concurrent
batches of other stream shards never overwrite each other: the loser re-reads and re-applies. A batch that
fails raises; the mapping retries it (bisecting) and whatever was already counted is skipped by the marks.

Peak is a true maximum: it is raised to the highest running count within the batch (the stored count plus
each change in order), and never below the current count.

Only changes made while the stream was live are counted: every change while it is ``active``; once it
has ``ended``, a join whose ``joinedAt`` is not after ``endedAt`` (the last joins before the end still
reach peak and cumulative; a join racing with the end does not) and a leave whose record was written by
the second of ``endedAt`` (records carry whole seconds). Scheduled and cancelled streams count nothing.

DynamoDB per batch: per stream 1 GetItem (consistent) + 1 UpdateItem (+ a retry of both per lost race);
with viewers coming or going, a GetItem of the newest-viewers window and the UpdateItem in one transaction
with its Put (and, when leaves leave it short, one bounded Query per AudienceIndex shard). The requests
themselves are :mod:`livestream.store.audience`'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Optional

from livestream.clock import parse_iso
from livestream.store import audience as db

WINDOW = 1000  # the viewers list pages through the newest 1,000
WINDOW_KEEP = 1100  # kept, so that a few leaves of windowed viewers do not each need a refill
LOCK_ATTEMPTS = 8


class Contended(Exception):
    """The stream item kept changing under us; the batch fails and the mapping retries it."""


@dataclass(frozen=True)
class Change:
    """What one participant record does to its stream's counters."""

    stream_id: str
    partition: str  # ``P<n>``: the participant partition whose records arrive in order
    user: str
    sequence: int
    delta: int  # +1 started watching, -1 stopped, 0 neither
    first: bool  # started watching for the first time (cumulative +1)
    at: float  # when the record was written (Unix seconds, whole)
    joined_at: Optional[str]  # a join's ``joinedAt`` (ISO, milliseconds)


def change_of(record: dict[str, Any]) -> Optional[Change]:
    """The counter change a stream record (Lambda's JSON) carries; ``None`` for anything but a participant."""
    part = db.part_record(record)
    if part is None:
        return None
    was, now = part.old.watching, part.new.watching
    started = now and not was
    first = started and part.new.ever_watched and not part.old.ever_watched
    joined_at = part.new.joined_at if started else None
    return Change(part.stream_id, part.partition, part.user, part.sequence, int(now) - int(was), first, part.at, joined_at)


def apply(records: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Count a batch of stream records (in the order the mapping delivered them). Returns how many
    changes were counted, skipped as already counted, and ignored (stream not live)."""
    by_stream: dict[str, list[Change]] = {}
    for record in records:
        change = change_of(record)
        if change is not None:
            by_stream.setdefault(change.stream_id, []).append(change)
    summary = {"counted": 0, "duplicates": 0, "ignored": 0, "streams": 0}
    for stream_id, changes in by_stream.items():
        outcome = _apply_stream(stream_id, changes)
        for key, value in outcome.items():
            summary[key] += value
        summary["streams"] += 1
    return summary


def _apply_stream(stream_id: str, changes: list[Change]) -> dict[str, int]:
    for _ in range(LOCK_ATTEMPTS):
        outcome = _try_count(stream_id, changes)
        if outcome is not None:
            return outcome
    raise Contended(f"stream {stream_id}: counters changed {LOCK_ATTEMPTS} times while counting a batch")


def _try_count(stream_id: str, changes: list[Change]) -> Optional[dict[str, int]]:
    """Count the changes not counted yet onto the counters as read; ``None`` when another batch wrote
    them meanwhile (the optimistic lock failed)."""
    read = db.counters(stream_id)
    if read is None or read.status not in ("active", "ended"):
        return {"ignored": len(changes)}
    fresh = [c for c in changes if c.sequence > read.marks.get(c.partition, -1)]
    if not fresh:
        return {"duplicates": len(changes)}
    counted = [c for c in fresh if _while_live(c, read)]
    after = _count(read, counted, fresh)
    if not db.save_counters(stream_id, read, after, _window(stream_id, counted, after.current)):
        return None
    return {"counted": len(counted), "ignored": len(fresh) - len(counted), "duplicates": len(changes) - len(fresh)}


def _count(read: db.Counters, counted: list[Change], fresh: list[Change]) -> db.Counters:
    """The counters after ``counted`` (in order: the peak is the highest running count), with every fresh
    change's partition marked as counted up to it."""
    current, peak, cumulative = read.current, max(read.peak, read.current), read.cumulative
    for change in counted:
        current += change.delta
        peak = max(peak, current)
        cumulative += change.first
    marks = {**read.marks, **{c.partition: c.sequence for c in fresh}}
    return replace(read, current=current, peak=peak, cumulative=cumulative, marks=marks)


def _while_live(change: Change, read: db.Counters) -> bool:
    """Whether the change happened while the stream was live (see the module's docstring)."""
    if read.status == "active":
        return True
    if change.delta > 0:
        return bool(change.joined_at) and str(change.joined_at) <= read.ended_at
    ended_at = parse_iso(read.ended_at or None)
    return ended_at is not None and change.at <= int(ended_at.timestamp())


def _window(stream_id: str, counted: list[Change], current: int) -> Optional[list[str]]:
    """The newest viewers (``<joinedAt>#<user>``, newest first) after ``counted``: joins go in, leaves go
    out, at most WINDOW_KEEP; when leaves leave it short of min(WINDOW, audience), it is refilled with the
    next newest from the AudienceIndex shards (each read newest first below the window, ``Limit`` the gap).
    ``None`` (unchanged) when nobody came or went."""
    if not any(c.delta for c in counted):
        return None
    ordered = _moved(db.window(stream_id, consistent=True), counted)
    wanted = min(WINDOW, current) - len(ordered)
    if wanted > 0 and current > len(ordered):
        ordered += _refill(stream_id, ordered, wanted)
    return ordered


def _moved(window: list[str], counted: list[Change]) -> list[str]:
    """The window with the batch's leaves out and joins in, newest first, at most WINDOW_KEEP."""
    gone = {c.user for c in counted if c.delta}
    entries = {e for e in window if db.user_of(e) not in gone}
    entries |= {f"{c.joined_at}#{c.user}" for c in _last_per_user(counted) if c.delta > 0 and c.joined_at}
    return sorted(entries, reverse=True)[:WINDOW_KEEP]


def _refill(stream_id: str, ordered: list[str], wanted: int) -> list[str]:
    """The next ``wanted`` newest viewers below the window ``ordered`` (from every AudienceIndex shard)."""
    have = {db.user_of(e) for e in ordered}
    found = db.newest_viewers(stream_id, ordered[-1] if ordered else None, wanted)
    return sorted((e for e in set(found) if db.user_of(e) not in have), reverse=True)[:wanted]


def _last_per_user(changes: list[Change]) -> list[Change]:
    """Each user's last change of the batch (a join then a leave leaves them out)."""
    return list({c.user: c for c in changes if c.delta}.values())
