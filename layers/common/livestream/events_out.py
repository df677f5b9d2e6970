"""Events out: the table's change stream → lifecycle events on the service's EventBridge bus.

Fed by the DynamoDB stream of the main table (never by the request handlers, so a failing bus never
fails a request and nothing is lost: a failed record is retried by the event source mapping). Only
stream items (``sk = META``) matter; the mapping's filter drops every other record before it reaches us.

  INSERT                        stream.created (and stream.started when it was created live)
  MODIFY status → active        stream.started
  MODIFY status → ended         stream.ended
  MODIFY status → cancelled     stream.cancelled
  MODIFY audience counters      audience.changed, at most one per stream per AUDIENCE_EVENT_INTERVAL_SECONDS

Every ``detail`` is ``{streamId, creatorId, state, previousState, title, time, audience}`` with
``audience = {current, peak, cumulative}``; the JSON Schemas are in ``docs/events/schemas/``.

The audience throttle is exact under concurrency: the right to publish is a conditional UpdateItem of
the stream's ``EVENTS`` item (``lastAudienceEventAt`` older than the interval, or already claimed by
this very record — a retry re-publishes what it claimed). The item is not the stream item, so the
request path never contends with it.

Round trips per record: 0–1 UpdateItem (the throttle claim, audience changes only) and one PutEvents
when there is something to publish, plus a PutEvents per retry of the entries EventBridge refused.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Optional

from livestream import aws, store
from livestream.clock import iso, now
from livestream.settings import get_settings
from livestream.store import events as events_store

SOURCE = "live-stream"
CREATED, STARTED, ENDED, CANCELLED, AUDIENCE_CHANGED = (
    "stream.created",
    "stream.started",
    "stream.ended",
    "stream.cancelled",
    "audience.changed",
)
DETAIL_TYPES = (CREATED, STARTED, ENDED, CANCELLED, AUDIENCE_CHANGED)
# the status a stream enters → the event that says so
ENTERED = {"active": STARTED, "ended": ENDED, "cancelled": CANCELLED}
THROTTLE_ITEM_DAYS = 2  # the throttle item expires (table TTL) this long after the last audience event

PUT_EVENTS_LIMIT = 10  # entries per PutEvents call
PUT_ATTEMPTS = 4  # tries of an entry EventBridge refused before the record fails (then the mapping retries)

_client = aws.client("events")


class PublishFailed(Exception):
    """EventBridge refused entries on every attempt; the record fails and the event source mapping retries it."""


@dataclass(frozen=True)
class StreamChange:
    """One stream record of a stream item."""

    sequence: str
    old: Optional[dict[str, Any]]
    new: Optional[dict[str, Any]]
    at: datetime  # the record's approximate creation time

    @property
    def stream_id(self) -> str:
        return str((self.new or self.old or {})["id"])


def stream_change(record: Any) -> Optional[StreamChange]:
    """The change of a stream item a Powertools ``DynamoDBRecord`` carries, else ``None``."""
    ddb = record.dynamodb
    keys = ddb.keys if ddb else {}
    if not events_store.is_stream_item(keys):
        return None
    old, new = store.deserialize(ddb.get("OldImage")), store.deserialize(ddb.get("NewImage"))
    seconds = ddb.approximate_creation_date_time
    at = datetime.fromtimestamp(seconds, UTC) if seconds is not None else now()
    return StreamChange(str(ddb.sequence_number), old, new, at)


def audience(item: dict[str, Any]) -> dict[str, int]:
    """Current, peak and cumulative audience as the API shows them (no current audience unless live)."""
    count = int(item.get("audienceCount", 0))
    return {
        "current": count if item.get("status") == "active" else 0,
        "peak": max(int(item.get("peakAudience", 0)), count),
        "cumulative": int(item.get("cumulativeAudience", 0)),
    }


def detail(item: dict[str, Any], previous: Optional[str], at: str) -> dict[str, Any]:
    """The event's ``detail``, as ``livestream.event_models.EventDetail`` publishes it (the JSON Schemas in
    docs/events/schemas are generated from that model; ``tests/unit/test_event_detail.py`` holds every
    detail built here to it): built as a dict, so that publishing loads no pydantic."""
    return {
        "streamId": item["id"],
        "creatorId": item["creatorId"],
        "state": item["status"],
        "previousState": previous,
        "title": item["title"],
        "time": at,
        "audience": audience(item),
    }


def lifecycle(change: StreamChange) -> list[tuple[str, dict[str, Any]]]:
    """The lifecycle events (detail type, detail) a change means, in the order they happened."""
    new, old = change.new, change.old
    if new is None:  # a stream item is never deleted; nothing to say if one is
        return []
    if old is None:
        events = [(CREATED, detail(new, None, new["createdAt"]))]
        if new["status"] == "active":  # created live: it also started
            events.append((STARTED, detail(new, None, new.get("startedAt") or new["createdAt"])))
        return events
    if old.get("status") == new["status"] or new["status"] not in ENTERED:
        return []
    at = new.get("startedAt") if new["status"] == "active" else new.get("endedAt")
    return [(ENTERED[new["status"]], detail(new, old.get("status"), at or new["updatedAt"]))]


def audience_moved(change: StreamChange) -> bool:
    """Whether the counts a client sees changed (a leave after the end moves nothing visible)."""
    return change.old is not None and change.new is not None and audience(change.old) != audience(change.new)


def claim_audience_event(stream_id: str, sequence: str, at: datetime) -> bool:
    """The right to publish an audience.changed now: one winner per stream per interval, however many
    publishers race; the record that won keeps the right across its own retries."""
    interval = get_settings().audience_event_interval_seconds
    at_ms = int(at.timestamp() * 1000)
    expires = int((at + timedelta(days=THROTTLE_ITEM_DAYS)).timestamp())
    return events_store.claim_audience_event(stream_id, sequence, at_ms=at_ms, cutoff_ms=at_ms - interval * 1000, expires=expires)


def entry(detail_type: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "Source": SOURCE,
        "DetailType": detail_type,
        "Detail": json.dumps(body, separators=(",", ":")),
        "EventBusName": get_settings().event_bus_name,
        "Time": datetime.fromisoformat(body["time"].replace("Z", "+00:00")),
        "Resources": [],
    }


def publish(entries: list[dict[str, Any]]) -> None:
    """PutEvents, in order, resending only the entries EventBridge refused (``FailedEntryCount``) with
    jittered backoff; raises :class:`PublishFailed` when some are still refused after the last attempt."""
    for start in range(0, len(entries), PUT_EVENTS_LIMIT):
        pending = entries[start : start + PUT_EVENTS_LIMIT]
        for attempt in range(PUT_ATTEMPTS):
            response = _client.put_events(Entries=pending)
            if not response.get("FailedEntryCount"):
                break
            refused = [(e, r) for e, r in zip(pending, response["Entries"], strict=True) if r.get("ErrorCode")]
            pending = [e for e, _ in refused]
            if attempt == PUT_ATTEMPTS - 1:
                codes = sorted({r["ErrorCode"] for _, r in refused})
                raise PublishFailed(f"EventBridge refused {len(pending)} event(s): {', '.join(codes)}")
            time.sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311 - jitter, not secrecy


def handle(change: StreamChange, batch: Optional[Batch] = None) -> list[str]:
    """Publish what ``change`` means; the detail types published. Within a ``batch`` only the newest
    record of a stream may say its audience changed (since the batch's first record of it)."""
    events = lifecycle(change)
    audience_event = _audience_changed(change, batch)
    if audience_event is not None:
        events.append(audience_event)
    if events:
        publish([entry(kind, body) for kind, body in events])
    return [kind for kind, _ in events]


def _audience_changed(change: StreamChange, batch: Optional[Batch]) -> Optional[tuple[str, dict[str, Any]]]:
    """The audience.changed event ``change`` means: only while the stream is live, when its counts moved
    and this record won the throttle."""
    live = change.new
    if live is None or live.get("status") != "active":
        return None
    moved = batch.audience_moved(change) if batch is not None else audience_moved(change)
    if not moved or not claim_audience_event(change.stream_id, change.sequence, now()):
        return None
    return AUDIENCE_CHANGED, detail(live, None, iso(change.at))


class Batch:
    """What the publisher knows about the whole batch: each stream's counts before its first record and
    its newest record (only the newest counts go out), and whether a record has failed yet."""

    def __init__(self, changes: list[Optional[StreamChange]]) -> None:
        self._newest: dict[str, str] = {}
        self._before: dict[str, dict[str, int]] = {}
        for change in changes:
            if change is not None:
                self._newest[change.stream_id] = change.sequence
                # the counts before the batch: a stream created in it starts from its creation's counts
                self._before.setdefault(change.stream_id, audience(change.old or change.new or {}))
        self.failed = False

    def audience_moved(self, change: StreamChange) -> bool:
        """Whether ``change`` is its stream's newest record here and the counts differ from before the batch."""
        if self._newest.get(change.stream_id) != change.sequence or change.new is None:
            return False
        return self._before.get(change.stream_id) != audience(change.new)
