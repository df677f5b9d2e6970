"""Streams: create, read, start, end, and paid-access grants.

Round trips per call (DynamoDB unless said):
  create        1 BatchGetItem (users) + [1 S3 PutObject] + 1 TransactWriteItems   (+1 idempotency claim: the
                key's record is completed in the stream's transaction); a failed write with a thumbnail:
                [1 consistent GetItem of the stream, if the failure leaves it unknown whether it was
                written] + [1 S3 DeleteObject, unless the stream was (or may have been) written]
  get           1 GetItem (anonymous) or 1 BatchGetItem (stream and the caller's participation)
  start / end   1 GetItem + 1 TransactWriteItems (conditional on status)
  grant_access  1 TransactWriteItems
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Optional

from livestream import media, store, users
from livestream.clock import iso, now, parse_iso
from livestream.errors import Conflict, Forbidden, NotFound, field_error
from livestream.ids import new_id
from livestream.settings import get_settings
from livestream.slug import channel_name
from livestream.store import streams as stored
from livestream.store.streams import TRANSITIONS, Stream, StreamStatus

if TYPE_CHECKING:
    from livestream.create_command import CreateStreamCommand
    from livestream.idempotency import Keep

# a channel name is the title's slug and a random suffix; a clash is retried with a new suffix, and a
# third clash in a row (about one in 10^9 tries) is an error rather than a loop
CHANNEL_ATTEMPTS = 3

Role = Literal["host", "broadcaster", "guest", "audience"]
StreamLike = Mapping[str, Any] | Stream  # a stored item (as participants read it) or the typed item


# ---------------------------------------------------------------- read


def load(stream_id: str) -> Stream:
    stream = stored.get(stream_id)
    if stream is None:
        raise NotFound(f"id: no stream {stream_id}")
    return stream


def load_with_part(stream_id: str, caller: Optional[str]) -> tuple[dict[str, Any], Optional[dict[str, Any]]]:
    """The stream item and the caller's participant item, in one round trip."""
    if caller is None:
        stream, part = store.get(store.stream_key(stream_id)), None
    else:
        stream, part = stored.with_participant(stream_id, caller)
    if stream is None:
        raise NotFound(f"id: no stream {stream_id}")
    return stream, part


def role_of(item: StreamLike, caller: Optional[str], part: Optional[Mapping[str, Any]] = None) -> Optional[Role]:
    """host / broadcaster / guest by the stream's lists; audience while watching (``part``); else None."""
    if caller is None:
        return None
    stream = Stream.of(item)
    if caller == stream.creatorId:
        return "host"
    if caller in stream.broadcasterIds:
        return "broadcaster"
    if caller in stream.guestIds:
        return "guest"
    return "audience" if part and part.get("watching") else None


def to_api(item: StreamLike, role: Optional[Role]) -> dict[str, Any]:
    """The stream as the stream object clients receive."""
    stream = Stream.of(item)
    planned = parse_iso(stream.plannedStartDate)
    planned_end = planned + timedelta(minutes=stream.durationGoal) if planned and stream.durationGoal else None
    return {
        "id": stream.id,
        "title": stream.title,
        "liveStreamType": stream.liveStreamType,
        "channelName": stream.channelName,
        "broadcasters": [users.summary_of(u) for u in stream.broadcasters],
        "guests": [users.summary_of(u) for u in stream.guests],
        "creator": users.summary_of(stream.creator),
        "thumbnailUrl": stream.thumbnailUrl,
        "recording": False,
        "recordingUrl": None,
        "replayAccess": None,
        "status": stream.status.value,
        "accessType": "paid" if stream.price is not None else "free",
        "price": float(stream.price) if stream.price is not None else None,
        "interest": stream.interest,
        "durationGoal": int(stream.durationGoal) if stream.durationGoal is not None else None,
        "motivation": stream.motivation,
        "isActiveReplayOnCreatorProfile": None,
        "replayCreditPrice": None,
        "startedAt": stream.startedAt,
        "plannedStartDate": stream.plannedStartDate,
        "endedAt": stream.endedAt,
        "plannedEndDate": iso(planned_end),
        "createdAt": stream.createdAt,
        "updatedAt": stream.updatedAt,
        "fundingGoal": None,
        "collectedFunding": None,
        "fundingPercentage": None,
        "role": role,
        "miniCrowdFundings": [],
    }


def get_stream(stream_id: str, caller: Optional[str]) -> dict[str, Any]:
    item, part = load_with_part(stream_id, caller)
    return to_api(item, role_of(item, caller, part))


# ---------------------------------------------------------------- create


def create_stream(
    caller: str,
    command: CreateStreamCommand,
    thumbnail: Optional[bytes],
    *,
    idempotency_key: Optional[str] = None,
    lambda_context: Any = None,
) -> dict[str, Any]:
    """Create a stream; with an ``idempotency_key`` a retry answers the first result (per caller, 24 h):
    the key's record is completed in the stream's own transaction."""
    if idempotency_key is None:
        return _create(caller, command, thumbnail, None)
    from livestream import idempotency

    return idempotency.run_once(
        caller,
        idempotency_key,
        {"command": command.fingerprint(), "thumbnail": idempotency.digest(thumbnail)},
        lambda keep: _create(caller, command, thumbnail, keep),
        lambda_context,
    )


def _create(caller: str, command: CreateStreamCommand, thumbnail: Optional[bytes], keep: Optional[Keep]) -> dict[str, Any]:
    for field, ids in (("guests", command.guests), ("broadcasters", command.broadcasters)):
        if caller in ids:
            raise field_error(field, "must not include the creator")
    prepared = media.prepare_thumbnail(thumbnail) if thumbnail is not None else None
    profiles = _member_profiles(caller, command)
    stream_id = new_id()
    thumbnail_key = media.thumbnail_key(stream_id, prepared.extension) if prepared else None
    if prepared is not None and thumbnail_key is not None:
        media.put_thumbnail(thumbnail_key, prepared)
    try:
        return _write_new_stream(stream_id, caller, command, profiles, now(), thumbnail_key, keep)
    except BaseException as failure:
        if thumbnail_key:
            _settle_thumbnail(stream_id, thumbnail_key, failure)
        raise


def _member_profiles(caller: str, command: CreateStreamCommand) -> dict[str, dict[str, Any]]:
    """The summaries of the creator, guests and broadcasters (400 naming the field of an unknown one)."""
    profiles = users.summaries([caller, *command.guests, *command.broadcasters])
    for field, ids in (("guests", command.guests), ("broadcasters", command.broadcasters)):
        missing = [u for u in ids if u not in profiles]
        if missing:
            raise field_error(field, f"unknown user id {missing[0]}")
    return profiles


def _settle_thumbnail(stream_id: str, key: str, failure: BaseException) -> None:
    """The stream write failed with ``failure``: its thumbnail goes, unless the stream may be stored with it.

    A refused write wrote nothing. Any other failure (a timeout, a lost connection, a 5xx, throttling
    that outlasted the retries) may follow a commit whose answer was lost: the stream, and with a key
    the record that answers its retries, would then point at the thumbnail. So the stream is read back
    (consistently) first: the thumbnail is kept if it is there, and also if that read fails (an orphan
    image costs a few KB, a missing one breaks a stream), logged by key."""
    from livestream.store import outcome

    if outcome.may_have_written(failure) and _maybe_stored_with(stream_id, key):
        return
    _remove_unused_thumbnail(key)


def _maybe_stored_with(stream_id: str, key: str) -> bool:
    """Whether the stream may be stored with the thumbnail ``key``: it is, or reading it failed."""
    from livestream.observability import logger
    from livestream.store import outcome

    where = {"liveStreamId": stream_id, "thumbnailKey": key}
    try:
        stored_with = outcome.stream_refers_to(stream_id, key)
    except Exception:
        logger.exception("stream write's outcome unknown and the stream unreadable: thumbnail kept (remove it if no stream has it)", extra=where)
        return True
    if stored_with:
        logger.warning("stream written although its write failed (answer lost): thumbnail kept", extra=where)
    return stored_with


def _remove_unused_thumbnail(key: str) -> None:
    """The stream was not written: its thumbnail must not stay. If S3 refuses the delete as well (two
    dependencies failing at once), the object is logged by key for removal and the stream write's own
    error is what the client learns."""
    try:
        media.delete_thumbnail(key)
    except Exception:
        from livestream.observability import logger

        logger.exception("thumbnail of a stream that was not written could not be deleted", extra={"thumbnailKey": key})


def _write_new_stream(
    stream_id: str,
    caller: str,
    command: CreateStreamCommand,
    profiles: dict[str, dict[str, Any]],
    created: datetime,
    thumbnail_key: Optional[str],
    keep: Optional[Keep],
) -> dict[str, Any]:
    """The stream written (with ``keep``'s write of its answer, if any, in the same transaction): its answer."""
    item = _new_stream(stream_id, caller, command, profiles, iso(created) or "", thumbnail_key)
    members = [(caller, "host"), *((u, "broadcaster") for u in command.broadcasters), *((u, "guest") for u in command.guests)]
    for _ in range(CHANNEL_ATTEMPTS):
        item["channelName"] = channel_name(command.title)
        answer = to_api(item, "host")
        written = stored.create(item, members, along=keep(answer) if keep is not None else None)
        if written == "written":
            return answer
        if written == "along refused":  # the key's claim is no longer this request's: another one runs it
            from livestream import idempotency

            raise idempotency.still_in_progress()
    raise RuntimeError(f"no free channel name for {command.title!r} after {CHANNEL_ATTEMPTS} attempts")


def _new_stream(
    stream_id: str, caller: str, command: CreateStreamCommand, profiles: dict[str, dict[str, Any]], timestamp: str, thumbnail_key: Optional[str]
) -> dict[str, Any]:
    scheduled = command.plannedStartDate is not None
    default_thumbnail = get_settings().default_thumbnail_url or None
    return {
        "id": stream_id,
        "title": command.title,
        "liveStreamType": command.liveStreamType,
        "creatorId": caller,
        "creator": profiles.get(caller) or users.unknown_summary(caller),
        "guestIds": command.guests,
        "guests": [profiles[u] for u in command.guests],
        "broadcasterIds": command.broadcasters,
        "broadcasters": [profiles[u] for u in command.broadcasters],
        "thumbnailKey": thumbnail_key,
        "thumbnailUrl": media.public_url(thumbnail_key) if thumbnail_key else default_thumbnail,
        "status": (StreamStatus.SCHEDULED if scheduled else StreamStatus.ACTIVE).value,
        "price": command.price,
        "interest": command.interest,
        "durationGoal": command.durationGoal,
        "motivation": command.motivation,
        "startedAt": None if scheduled else timestamp,
        "plannedStartDate": iso(command.plannedStartDate),
        "endedAt": None,
        "createdAt": timestamp,
        "updatedAt": timestamp,
    }


# ---------------------------------------------------------------- transitions


def transition(stream_id: str, caller: str, action: Literal["start", "end"]) -> dict[str, Any]:
    """Start or end a stream: creator only; a conditional write on ``status`` so that concurrent
    transitions cannot both succeed (the loser gets 409)."""
    stream = load(stream_id)
    if stream.creatorId != caller:
        raise Forbidden(f"id: only the creator can {action} this stream")
    target = TRANSITIONS[action].get(stream.status)
    if target is None:
        raise Conflict(f"status: cannot {action} a stream that is {stream.status.value}")
    timestamp = iso(now())
    changes = {"updatedAt": timestamp, "startedAt" if target == StreamStatus.ACTIVE else "endedAt": timestamp}
    if not stored.transition(stream, target, changes):
        raise Conflict(f"status: the stream changed state concurrently; cannot {action} it")
    updated = Stream.of({**{k: v for k, v in vars(stream).items() if k != "due"}, **changes, "status": target.value})
    return to_api(updated, "host")


# ---------------------------------------------------------------- paid access


def grant_access(stream_id: str, user_id: str) -> dict[str, Any]:
    """Record that ``user_id`` paid for ``stream_id`` (both must exist); repeating it is harmless."""
    missing = stored.grant_access(stream_id, user_id, iso(now()) or "")
    if missing == "stream":
        raise NotFound(f"id: no stream {stream_id}")
    if missing == "user":
        raise NotFound(f"userId: no user {user_id}")
    return {"liveStreamId": stream_id, "userId": user_id, "hasAccess": True}
