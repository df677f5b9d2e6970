"""What publishing stream events reads and keeps: which table stream records are of stream items, and
the per-stream throttle item of ``audience.changed`` (``STREAM#<id>`` / ``EVENTS``; expires by the
table's TTL attribute ``expiresAt``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from livestream import store

EVENTS_SK = "EVENTS"


def is_stream_item(keys: Mapping[str, Any]) -> bool:
    """Whether a record's keys are a stream item's (``STREAM#<id>`` / ``META``)."""
    return str(keys.get("pk", "")).startswith("STREAM#") and keys.get("sk") == store.META


def claim_audience_event(stream_id: str, sequence: str, *, at_ms: int, cutoff_ms: int, expires: int) -> bool:
    """Take the right to publish an audience event of the stream at ``at_ms``: granted when none was
    published after ``cutoff_ms``, or when the record ``sequence`` already holds it (its retry)."""
    response = store.update_if(
        {**store.stream_key(stream_id), "sk": EVENTS_SK},
        "SET lastAudienceEventAt = :at, lastAudienceRecord = :seq, expiresAt = :expires",
        "attribute_not_exists(lastAudienceEventAt) OR lastAudienceEventAt <= :cutoff OR lastAudienceRecord = :seq",
        {":at": at_ms, ":seq": sequence, ":cutoff": cutoff_ms, ":expires": expires},
    )
    return response is not None
