"""Streams: create, read, start, end, and paid-access grants.

Round trips per call (DynamoDB unless said):
  create        1 BatchGetItem (users) + [1 S3 PutObject] + 1 TransactWriteItems   (+2 idempotency writes)
  get           1 GetItem (anonymous) or 1 BatchGetItem (stream and the caller's participation)
  start / end   1 GetItem + 1 TransactWriteItems (conditional on status)
  grant_access  1 TransactWriteItems
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Optional

from botocore.exceptions import ClientError

from livestream import media, store, users
from livestream.clock import iso, now, parse_iso
from livestream.errors import Conflict, Forbidden, NotFound, field_error
from livestream.ids import new_id
from livestream.models import CreateStreamCommand, StreamOut
from livestream.settings import get_settings
from livestream.slug import channel_name

CHANNEL_ATTEMPTS = 3

# status → the live-event state of the listing (StateIndex partition)
LIVE_EVENT_STATE = {"scheduled": "created", "active": "ongoing", "ended": "ended", "cancelled": "ended"}


# ---------------------------------------------------------------- read


def load(stream_id: str) -> dict[str, Any]:
    item = store.get(store.stream_key(stream_id))
    if item is None:
        raise NotFound(f"id: no stream {stream_id}")
    return item


def load_with_part(stream_id: str, caller: Optional[str]) -> tuple[dict[str, Any], Optional[dict[str, Any]]]:
    """The stream and the caller's participant item, in one round trip."""
    if caller is None:
        stream, part = store.get(store.stream_key(stream_id)), None
    else:
        stream, part = store.get_many(store.stream_key(stream_id), store.part_key(stream_id, caller))
    if stream is None:
        raise NotFound(f"id: no stream {stream_id}")
    return stream, part


def role_of(item: dict[str, Any], caller: Optional[str], part: Optional[dict[str, Any]] = None) -> Optional[str]:
    """host / broadcaster / guest by the stream's lists; audience while watching (``part``); else None."""
    if caller is None:
        return None
    if caller == item["creatorId"]:
        return "host"
    if caller in item.get("broadcasterIds", []):
        return "broadcaster"
    if caller in item.get("guestIds", []):
        return "guest"
    return "audience" if part and part.get("watching") else None


def to_api(item: dict[str, Any], role: Optional[str]) -> dict[str, Any]:
    """The stream item as the stream object clients receive."""
    planned = parse_iso(item.get("plannedStartDate"))
    planned_end = planned + timedelta(minutes=item["durationGoal"]) if planned and item.get("durationGoal") else None
    price = item.get("price")
    return StreamOut(
        id=item["id"],
        title=item["title"],
        liveStreamType=item["liveStreamType"],
        channelName=item["channelName"],
        broadcasters=item.get("broadcasters", []),
        guests=item.get("guests", []),
        creator=item["creator"],
        thumbnailUrl=item.get("thumbnailUrl"),
        recording=False,
        recordingUrl=None,
        replayAccess=None,
        status=item["status"],
        accessType="paid" if price is not None else "free",
        price=price,
        interest=item.get("interest"),
        durationGoal=item.get("durationGoal"),
        motivation=item.get("motivation"),
        isActiveReplayOnCreatorProfile=None,
        replayCreditPrice=None,
        startedAt=item.get("startedAt"),
        plannedStartDate=item.get("plannedStartDate"),
        endedAt=item.get("endedAt"),
        plannedEndDate=iso(planned_end),
        createdAt=item["createdAt"],
        updatedAt=item["updatedAt"],
        fundingGoal=None,
        collectedFunding=None,
        fundingPercentage=None,
        role=role,
        miniCrowdFundings=[],
    ).model_dump(mode="json", by_alias=True)


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
    """Create a stream; with an ``idempotency_key`` a retry answers the first result (per caller, 24 h)."""
    if idempotency_key is None:
        return _create(caller, command, thumbnail)
    from livestream import idempotency

    return idempotency.run_once(
        caller,
        idempotency_key,
        {"command": command.fingerprint(), "thumbnail": idempotency.digest(thumbnail)},
        lambda: _create(caller, command, thumbnail),
        lambda_context,
    )


def _create(caller: str, command: CreateStreamCommand, thumbnail: Optional[bytes]) -> dict[str, Any]:
    for field, ids in (("guests", command.guests), ("broadcasters", command.broadcasters)):
        if caller in ids:
            raise field_error(field, "must not include the creator")
    kind = media.check_thumbnail(thumbnail) if thumbnail is not None else None

    profiles = users.summaries([caller, *command.guests, *command.broadcasters])
    for field, ids in (("guests", command.guests), ("broadcasters", command.broadcasters)):
        missing = [u for u in ids if u not in profiles]
        if missing:
            raise field_error(field, f"unknown user id {missing[0]}")

    stream_id = new_id()
    created = now()
    thumbnail_key = media.thumbnail_key(stream_id, kind[1]) if kind else None
    if thumbnail is not None and kind is not None and thumbnail_key is not None:
        media.put_thumbnail(thumbnail_key, thumbnail, kind[0])
    try:
        item = _write_new_stream(stream_id, caller, command, profiles, created, thumbnail_key)
    except BaseException:
        if thumbnail_key:
            media.delete_thumbnail(thumbnail_key)
        raise
    return to_api(item, "host")


def _write_new_stream(
    stream_id: str,
    caller: str,
    command: CreateStreamCommand,
    profiles: dict[str, dict[str, Any]],
    created: datetime,
    thumbnail_key: Optional[str],
) -> dict[str, Any]:
    settings = get_settings()
    scheduled = command.plannedStartDate is not None
    status = "scheduled" if scheduled else "active"
    timestamp = iso(created)
    item: dict[str, Any] = {
        **store.stream_key(stream_id),
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
        "thumbnailUrl": media.public_url(thumbnail_key) if thumbnail_key else (settings.default_thumbnail_url or None),
        "status": status,
        "price": command.price,
        "interest": command.interest,
        "durationGoal": command.durationGoal,
        "motivation": command.motivation,
        "startedAt": None if scheduled else timestamp,
        "plannedStartDate": iso(command.plannedStartDate),
        "endedAt": None,
        "createdAt": timestamp,
        "updatedAt": timestamp,
        "statePk": f"STATE#{LIVE_EVENT_STATE[status]}",
        "stateSk": f"{timestamp}#{stream_id}",
        "creatorPk": f"CREATOR#{caller}",
        "creatorSk": f"{timestamp}#{stream_id}",
    }
    if scheduled:
        item.update(store.due_marker(item["plannedStartDate"], stream_id))
    members = [(caller, "host"), *((u, "broadcaster") for u in command.broadcasters), *((u, "guest") for u in command.guests)]
    for attempt in range(CHANNEL_ATTEMPTS):
        item["channelName"] = channel_name(command.title)
        writes = [
            _put(item, "attribute_not_exists(pk)"),
            _put({**store.channel_key(item["channelName"]), "streamId": stream_id}, "attribute_not_exists(pk)"),
            *(_put(_member_item(item, user, role), None) for user, role in members),
        ]
        try:
            store.transact(writes)
            return item
        except ClientError as exc:
            codes = store.cancellation_codes(exc)
            channel_taken = len(codes) > 1 and codes[1] == "ConditionalCheckFailed"
            if not channel_taken or attempt == CHANNEL_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _member_item(stream: dict[str, Any], user_id: str, role: str) -> dict[str, Any]:
    return {**store.member_key(stream["id"], user_id), "userId": user_id, "role": role, **_member_index(stream, user_id)}


def _member_index(stream: dict[str, Any], user_id: str) -> dict[str, Any]:
    """MemberIndex attributes: live streams under ``A#startedAt``, scheduled under ``S#plannedStartDate``."""
    if stream["status"] == "active":
        return {"memberPk": f"MEMBER#{user_id}", "memberSk": f"A#{stream['startedAt']}#{stream['id']}"}
    if stream["status"] == "scheduled":
        return {"memberPk": f"MEMBER#{user_id}", "memberSk": f"S#{stream['plannedStartDate']}#{stream['id']}"}
    return {}


def _put(item: dict[str, Any], condition: Optional[str]) -> dict[str, Any]:
    put: dict[str, Any] = {"TableName": store.table(), "Item": store.serialize(item)}
    if condition:
        put["ConditionExpression"] = condition
    return {"Put": put}


# ---------------------------------------------------------------- transitions

# action → {from status: to status}
TRANSITIONS = {
    "start": {"scheduled": "active"},
    "end": {"active": "ended", "scheduled": "cancelled"},
}


def transition(stream_id: str, caller: str, action: str) -> dict[str, Any]:
    """Start or end a stream: creator only; a conditional write on ``status`` so that concurrent
    transitions cannot both succeed (the loser gets 409)."""
    item = load(stream_id)
    if item["creatorId"] != caller:
        raise Forbidden(f"id: only the creator can {action} this stream")
    target = TRANSITIONS[action].get(item["status"])
    if target is None:
        raise Conflict(f"status: cannot {action} a stream that is {item['status']}")
    timestamp = iso(now())
    changes: dict[str, Any] = {"status": target, "updatedAt": timestamp, "statePk": f"STATE#{LIVE_EVENT_STATE[target]}"}
    if target == "active":
        changes["startedAt"] = timestamp
    else:
        changes["endedAt"] = timestamp
    updated = {**item, **changes}
    names = {f"#{k}": k for k in changes}
    assignments = ", ".join(f"#{k} = :{k}" for k in changes)
    writes = [
        {
            "Update": {
                "TableName": store.table(),
                "Key": store.serialize(store.stream_key(stream_id)),
                # leaving `scheduled` also leaves DueIndex: a started or cancelled stream sends no reminders
                "UpdateExpression": f"SET {assignments} REMOVE duePk, dueSk",
                "ConditionExpression": "#status = :from",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": store.values({**{f":{k}": v for k, v in changes.items()}, ":from": item["status"]}),
            }
        }
    ]
    for user_id in [item["creatorId"], *item.get("broadcasterIds", []), *item.get("guestIds", [])]:
        index = _member_index(updated, user_id)
        update: dict[str, Any] = {"TableName": store.table(), "Key": store.serialize(store.member_key(stream_id, user_id))}
        if index:
            update["UpdateExpression"] = "SET memberPk = :pk, memberSk = :sk"
            update["ExpressionAttributeValues"] = store.values({":pk": index["memberPk"], ":sk": index["memberSk"]})
        else:
            update["UpdateExpression"] = "REMOVE memberPk, memberSk"
        writes.append({"Update": update})
    try:
        store.transact(writes)
    except ClientError as exc:
        if "ConditionalCheckFailed" in store.cancellation_codes(exc):
            raise Conflict(f"status: the stream changed state concurrently; cannot {action} it") from exc
        raise
    return to_api(updated, "host")


# ---------------------------------------------------------------- paid access


def grant_access(stream_id: str, user_id: str) -> dict[str, Any]:
    """Record that ``user_id`` paid for ``stream_id`` (both must exist); repeating it is harmless."""
    writes = [
        {
            "ConditionCheck": {
                "TableName": store.table(),
                "Key": store.serialize(store.stream_key(stream_id)),
                "ConditionExpression": "attribute_exists(pk)",
            }
        },
        {
            "ConditionCheck": {
                "TableName": store.table(),
                "Key": store.serialize(store.profile_key(user_id)),
                "ConditionExpression": "attribute_exists(pk)",
            }
        },
        {
            "Update": {
                "TableName": store.table(),
                "Key": store.serialize(store.access_key(stream_id, user_id)),
                "UpdateExpression": "SET grantedAt = if_not_exists(grantedAt, :now)",
                "ExpressionAttributeValues": store.values({":now": iso(now())}),
            }
        },
    ]
    try:
        store.transact(writes)
    except ClientError as exc:
        codes = store.cancellation_codes(exc)
        if codes[:1] == ["ConditionalCheckFailed"]:
            raise NotFound(f"id: no stream {stream_id}") from exc
        if codes[1:2] == ["ConditionalCheckFailed"]:
            raise NotFound(f"userId: no user {user_id}") from exc
        raise
    return {"liveStreamId": stream_id, "userId": user_id, "hasAccess": True}
