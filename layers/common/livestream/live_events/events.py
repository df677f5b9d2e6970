"""A stream as the live platform's "live event", and the filters applied to the streams read."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from livestream.clock import now, parse_iso, to_millis
from livestream.live_events.filters import HOST_TYPES, Filters
from livestream.store.streams import Stream, StreamStatus


def counts(stream: Stream) -> tuple[int, int, int]:
    """(current, peak, cumulative) audience; a stream that is not live has no current audience."""
    current = int(stream.audienceCount) if stream.status == StreamStatus.ACTIVE else 0
    peak = max(int(stream.peakAudience), int(stream.audienceCount))
    return current, peak, int(stream.cumulativeAudience)


def duration_ms(stream: Stream, current: datetime) -> int:
    started = parse_iso(stream.startedAt)
    if started is None:
        return 0
    ended = parse_iso(stream.endedAt) or current
    return max(0, int((ended - started).total_seconds() * 1000))


def matches(stream: Stream, f: Filters, current: datetime) -> bool:
    """Whether the stream passes every filter given (the ones the index read did not apply)."""
    created, started = to_millis(parse_iso(stream.createdAt)), to_millis(parse_iso(stream.startedAt))
    participants = counts(stream)[0]
    duration = duration_ms(stream, current)
    checks = [
        not f.states or stream.status.live_event_state in f.states,
        not f.host_types or stream.liveStreamType in [HOST_TYPES[h] for h in f.host_types],
        _within(created, f.created_from, f.created_before),
        _within(started, f.started_from, f.started_before, required=f.started_from is not None or f.started_before is not None),
        _within(participants, f.participants_gte, None if f.participants_lte is None else f.participants_lte + 1),
        not f.ids or stream.id in f.ids,
        not f.creators or stream.creatorId in f.creators,
        _within(duration, f.duration_gte, f.duration_lt),
        f.title_contains is None or f.title_contains in stream.title.casefold(),
    ]
    return all(checks)


def _within(value: Optional[int], low: Optional[int], below: Optional[int], *, required: bool = False) -> bool:
    """``low <= value < below`` for the bounds given; a missing value passes only when not ``required``."""
    if value is None:
        return not required
    return (low is None or value >= low) and (below is None or value < below)


def to_live_event(stream: Stream, creator_part: Optional[dict[str, Any]]) -> dict[str, Any]:
    current, peak, cumulative = counts(stream)
    return {
        "created_at": to_millis(parse_iso(stream.createdAt)),
        "created_by": stream.creatorId,
        "cumulative_participant_count": cumulative,
        "custom_items": {},
        "duration": duration_ms(stream, now()),
        "ended_at": to_millis(parse_iso(stream.endedAt)),
        "ended_by": stream.creatorId if stream.endedAt else "",
        "host": None,
        "host_type": "single_host" if stream.liveStreamType == "solo" else "multi_host",
        "is_host_streaming": bool(creator_part and creator_part.get("streaming")) and stream.status == StreamStatus.ACTIVE,
        "live_event_id": stream.id,
        "participant_count": current,
        "peak_participant_count": peak,
        "set_ready_at": None,
        "set_ready_by": "",
        "started_at": to_millis(parse_iso(stream.startedAt)),
        "started_by": stream.creatorId if stream.startedAt else "",
        "state": stream.status.live_event_state,
        "user_ids_for_host": stream.hosts,
        "title": stream.title,
    }
