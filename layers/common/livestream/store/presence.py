"""What presence reads and keeps: channel guards (``CHANNEL#<name>``), uid guards, participants by
uid or by AudienceIndex, ExpiryIndex deadlines and the sweep's cursor (``SWEEP`` / ``PRESENCE``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, Optional

from livestream import store
from livestream.store import audience, parallel

Item = dict[str, Any]


def channel_stream(channel_name: str) -> Optional[str]:
    """The id of the stream holding ``channel_name`` (one eventually consistent GetItem)."""
    channel = store.get(store.channel_key(channel_name), consistent=False)
    return str(channel["streamId"]) if channel else None


def stream_and_uid_holder(stream_id: str, uid: int) -> tuple[Optional[Item], Optional[str]]:
    """The stream item and the user holding ``uid`` in it (one BatchGetItem)."""
    stream, guard = store.get_many(store.stream_key(stream_id), store.uid_key(stream_id, uid))
    return stream, (str(guard["userId"]) if guard else None)


def participant_and_profile(stream_id: str, user_id: str) -> tuple[Optional[Item], Optional[Item]]:
    """A participant item and the user's profile (one BatchGetItem)."""
    part, profile = store.get_many(store.part_key(stream_id, user_id), store.profile_key(user_id))
    return part, profile


def participants(stream_id: str, user_ids: Iterable[str]) -> list[tuple[str, Item]]:
    """The participant items of those users that have one, with their user ids (consistent reads,
    one BatchGetItem per 100)."""
    keys = [store.part_key(stream_id, user) for user in user_ids]
    return [(participant_user(part), part) for part in store.batch_get(keys, consistent=True)] if keys else []


def participant_user(part: Item) -> str:
    return str(part["sk"]).removeprefix("PART#")


def viewers_page(stream_id: str, cursor: Optional[dict[str, Any]]) -> tuple[list[str], dict[str, Any]]:
    """Up to 100 current viewers of a stream (AudienceIndex, shard after shard), from ``cursor`` (``None``:
    the start), and where to go on (``{}``: done). The cursor is ``{"shard": n, "key": <LastEvaluatedKey or None>}``."""
    shard = int((cursor or {}).get("shard", 0))
    items, last = store.query_page(
        "audiencePk = :pk",
        {":pk": store.audience_partition(stream_id, shard)},
        index="AudienceIndex",
        page_size=store.BATCH_GET_LIMIT,
        start=(cursor or {}).get("key"),
    )
    users = [participant_user(item) for item in items]
    if last:
        return users, {"shard": shard, "key": last}
    return users, {"shard": shard + 1, "key": None} if shard + 1 < store.AUDIENCE_SHARDS else {}


class Expired(NamedTuple):
    """A viewer whose presence deadline passed, as ExpiryIndex lists them."""

    entry: str  # the ExpiryIndex sort key read: ``<deadline>#<stream>#<user>``
    stream_id: str
    user_id: str


def expired(minute: str, now_iso: str) -> list[Expired]:
    """Every viewer whose presence deadline falls in ``minute`` (``yyyy-mm-ddThh:mm``) and is at or before
    ``now_iso``: one Query of each ExpiryIndex shard of the minute (every page), the shards at once."""
    pages = parallel.each(lambda shard: _expired_in(store.expiry_bucket(minute, shard), now_iso), range(store.EXPIRY_SHARDS))
    return [viewer for page in pages for viewer in page]


def _expired_in(bucket: str, now_iso: str) -> list[Expired]:
    # expSk is "<deadline>#<stream>#<user>" with a fixed-width deadline: "$" sorts after "#", so this
    # reads exactly the entries whose deadline is at or before now
    items = store.query("expPk = :pk AND expSk < :bound", {":pk": bucket, ":bound": now_iso + "$"}, index="ExpiryIndex")
    return [Expired(str(item["expSk"]), store.stream_id_of(str(item["pk"])), participant_user(item)) for item in items]


def drop_stale(viewers: Sequence[Expired]) -> int:
    """Remove each viewer as a leave would (out of AudienceIndex and ExpiryIndex), conditioned on the
    ExpiryIndex entry still being the one read (renewed or confirmed meanwhile: they stay); one
    UpdateItem each, several at once. Answers how many were removed."""
    return sum(parallel.each(_drop, viewers))


def _drop(viewer: Expired) -> bool:
    return audience.stop_watching(viewer.stream_id, viewer.user_id, deadline_seen=viewer.entry)


def sweep_cursor() -> Optional[str]:
    """The last minute the sweep read completely (``None`` before the first sweep)."""
    item = store.get(store.sweep_key())
    return str(item["through"]) if item else None


def advance_sweep(minute: str) -> None:
    """Record ``minute`` as swept completely (never moving the cursor back)."""
    store.update_if(store.sweep_key(), "SET through = :m", "attribute_not_exists(through) OR through < :m", {":m": minute})
