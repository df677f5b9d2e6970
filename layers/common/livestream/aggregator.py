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

DynamoDB per batch: per stream 1 GetItem (consistent) + 1 UpdateItem (+ a retry of both per lost race).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Optional

from livestream import store
from livestream.clock import parse_iso

MARKS = "aggMarks"
WINDOW = 1000  # the viewers list pages through the newest 1,000
WINDOW_KEEP = 1100  # kept, so that a few leaves of windowed viewers do not each need a refill
VERSION = "aggVersion"
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
    ddb = record.get("dynamodb") or {}
    keys = store.deserialize(ddb.get("Keys")) or {}
    pk, sk = str(keys.get("pk", "")), str(keys.get("sk", ""))
    if not pk.startswith("STREAM#") or not sk.startswith("PART#"):
        return None
    old = store.deserialize(ddb.get("OldImage")) or {}
    new = store.deserialize(ddb.get("NewImage")) or {}
    was, now = bool(old.get("watching")), bool(new.get("watching"))
    first = now and not was and bool(new.get("everWatched")) and not old.get("everWatched")
    at = float(ddb.get("ApproximateCreationDateTime") or 0)
    joined_at = new.get("joinedAt") if now and not was else None
    user = sk.removeprefix("PART#")
    return Change(store.stream_id_of(pk), pk.rsplit("#", 1)[1], user, int(ddb["SequenceNumber"]), int(now) - int(was), first, at, joined_at)


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
        item = store.get(store.stream_key(stream_id))
        if item is None or item.get("status") not in ("active", "ended"):
            return {"ignored": len(changes)}
        marks: dict[str, Any] = dict(item.get(MARKS) or {})
        fresh = [c for c in changes if c.sequence > int(marks.get(c.partition, -1))]
        if not fresh:
            return {"duplicates": len(changes)}
        counted = [c for c in fresh if _while_live(c, item)]
        current = int(item.get("audienceCount", 0))
        peak = max(int(item.get("peakAudience", 0)), current)
        cumulative = int(item.get("cumulativeAudience", 0))
        for change in counted:
            current += change.delta
            peak = max(peak, current)
            cumulative += change.first
        for change in fresh:
            marks[change.partition] = str(change.sequence)
        version = item.get(VERSION)
        counters = {
            "Update": {
                "TableName": store.table(),
                "Key": store.serialize(store.stream_key(stream_id)),
                "UpdateExpression": (
                    f"SET audienceCount = :current, peakAudience = :peak, cumulativeAudience = :cumulative, {MARKS} = :marks, {VERSION} = :next"
                ),
                "ConditionExpression": "#status = :status AND "
                + (f"{VERSION} = :version" if version is not None else f"attribute_not_exists({VERSION})"),
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": store.values(
                    {
                        ":current": current,
                        ":peak": peak,
                        ":cumulative": cumulative,
                        ":marks": marks,
                        ":next": int(version or 0) + 1,
                        ":status": item["status"],
                        **({":version": version} if version is not None else {}),
                    }
                ),
            }
        }
        writes = [counters]
        if any(c.delta for c in counted):
            entries = _window(stream_id, counted, current)
            writes.append({"Put": {"TableName": store.table(), "Item": store.serialize({**store.window_key(stream_id), "entries": entries})}})
        if not store.write(writes):
            return {"counted": len(counted), "ignored": len(fresh) - len(counted), "duplicates": len(changes) - len(fresh)}
    raise Contended(f"stream {stream_id}: counters changed {LOCK_ATTEMPTS} times while counting a batch")


def _while_live(change: Change, item: dict[str, Any]) -> bool:
    """Whether the change happened while the stream was live (see the module's docstring)."""
    if item["status"] == "active":
        return True
    ended = str(item.get("endedAt") or "")
    if change.delta > 0:
        return bool(change.joined_at) and str(change.joined_at) <= ended
    ended_at = parse_iso(ended)
    return ended_at is not None and change.at <= int(ended_at.timestamp())


def _window(stream_id: str, counted: list[Change], current: int) -> list[str]:
    """The newest viewers (``<joinedAt>#<user>``, newest first) after ``counted``: joins go in, leaves go
    out, at most WINDOW_KEEP; when leaves leave it short of min(WINDOW, audience), it is refilled with the
    next newest from the AudienceIndex shards (each read newest first below the window, ``Limit`` the gap)."""
    window = (store.get(store.window_key(stream_id)) or {}).get("entries") or []
    gone = {c.user for c in counted if c.delta}
    entries = {e for e in window if e.partition("#")[2] not in gone}
    entries |= {f"{c.joined_at}#{c.user}" for c in _last_per_user(counted) if c.delta > 0 and c.joined_at}
    ordered = sorted(entries, reverse=True)[:WINDOW_KEEP]
    wanted = min(WINDOW, current) - len(ordered)
    if wanted > 0 and current > len(ordered):
        below = ordered[-1] if ordered else None
        have = {e.partition("#")[2] for e in ordered}
        found: list[str] = []
        for partition in store.audience_partitions(stream_id):
            found += store.audience_entries(partition, below, wanted)
        ordered += sorted((e for e in set(found) if e.partition("#")[2] not in have), reverse=True)[:wanted]
    return ordered


def _last_per_user(changes: list[Change]) -> list[Change]:
    """Each user's last change of the batch (a join then a leave leaves them out)."""
    return list({c.user: c for c in changes if c.delta}.values())
