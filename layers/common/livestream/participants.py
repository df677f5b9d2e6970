"""Joining, leaving, token renewal and the viewers list.

A participant item (``PART#<user>``) holds the user's Agora uid in the stream (allocated once,
guarded by a ``UID#<uid>`` item so no two users share one) and two flags: ``watching`` (in the
audience now; indexed in AudienceIndex) and ``streaming`` (publishing as host, broadcaster or guest).

The stream item keeps ``audienceCount`` (current), ``peakAudience`` and ``cumulativeAudience``
(distinct users who ever watched). They change only inside the transaction that flips a
participant's ``watching`` flag, so a double join counts once and a double leave lowers the count
once. The peak is raised right after each join; a leave is refused by its condition while the peak
lags the current count, so no maximum is ever lost (``peak`` is read as ``max(peak, current)``).

Round trips (DynamoDB):
  join       1 BatchGetItem (stream, participant, access, profile) + 1 TransactWriteItems
             (+1 UpdateItem raising the peak, audience only); none written on a repeat join
  leave      1 BatchGetItem + at most 1 TransactWriteItems / UpdateItem
  renew      1 BatchGetItem
  viewers    1 BatchGetItem + Query pages of AudienceIndex + 1 BatchGetItem per 100 keys (profiles, follows)
"""

from __future__ import annotations

import math
from typing import Any, Literal, Optional

from botocore.exceptions import ClientError

from livestream import agora, store
from livestream.clock import iso, now
from livestream.errors import Conflict, Forbidden, NotFound, retry_after
from livestream.observability import logger
from livestream.slug import fold
from livestream.streams import load_with_part, role_of, to_api
from livestream.users import unknown_summary

JoinAs = Literal["broadcaster", "guest", "audience"]
UID_ATTEMPTS = 5
ENDED = ("ended", "cancelled")
PROFILE_FIELDS = ("username", "name", "surname", "profilePhoto", "followersCount", "followingCount", "expertise")


# ---------------------------------------------------------------- join


def join(stream_id: str, caller: str, as_role: JoinAs) -> dict[str, Any]:
    stream, part, access, profile = store.get_many(
        store.stream_key(stream_id), store.part_key(stream_id, caller), store.access_key(stream_id, caller), store.profile_key(caller)
    )
    if stream is None:
        raise NotFound(f"liveStreamId: no stream {stream_id}")
    if stream["status"] in ENDED or (as_role == "audience" and stream["status"] != "active"):
        raise Conflict(f"liveStreamId: the stream is {stream['status']}")
    listed = role_of(stream, caller)
    if as_role == "broadcaster" and listed not in ("host", "broadcaster"):
        raise Forbidden("liveStreamId: only the creator and listed broadcasters join as broadcaster")
    if as_role == "guest" and listed != "guest":
        raise Forbidden("liveStreamId: only listed guests join as guest")
    if as_role == "audience" and stream.get("price") is not None and listed is None and access is None:
        raise Forbidden("liveStreamId: this paid stream needs a granted access")
    role = "audience" if as_role == "audience" else listed
    assert role is not None

    agora.credentials()  # read (and cached) before anything is written: Secrets Manager failing leaves no half-done join
    uid = _enter(stream, caller, part, profile, watching=role == "audience")
    return {"liveStream": to_api(stream, listed or role), **agora.mint(stream["channelName"], uid, caller, role)}


def _enter(stream: dict[str, Any], caller: str, part: Optional[dict[str, Any]], profile: Optional[dict[str, Any]], *, watching: bool) -> int:
    """Record the participant (uid, flag, counts) and answer their uid. Idempotent."""
    stream_id = stream["id"]
    if part and (part.get("watching") if watching else part.get("streaming")):
        return int(part["uid"])  # already in: nothing to write, nothing to count twice
    candidate = 0  # advances only when another user holds the candidate uid
    for _ in range(UID_ATTEMPTS):
        has_uid = bool(part and "uid" in part)
        uid = int(part["uid"]) if part and has_uid else agora.uid_candidate(stream_id, caller, candidate)
        writes = [] if has_uid else [_claim_uid(stream_id, uid, caller)]
        writes += [_part_update(stream_id, caller, uid, part, profile, watching=watching), _stream_update(stream_id, part, watching=watching)]
        try:
            store.transact(writes)
        except ClientError as exc:
            codes = store.cancellation_codes(exc)
            if not codes:
                raise
            uid_taken = not has_uid and codes[0] == "ConditionalCheckFailed"
            part_changed, stream_changed = (c == "ConditionalCheckFailed" for c in codes[-2:])
            if stream_changed:
                raise Conflict("liveStreamId: the stream ended meanwhile") from exc
            if part_changed:
                # a concurrent join of the same user got there first, with the same uid
                part = store.get(store.part_key(stream_id, caller))
                if part and (part.get("watching") if watching else part.get("streaming")):
                    return int(part["uid"])
                continue
            if uid_taken:
                candidate += 1
                continue
            raise
        if watching:
            _raise_peak_if_possible(stream_id)
        return uid
    raise Conflict("liveStreamId: could not allocate a uid, try again")


def _claim_uid(stream_id: str, uid: int, user_id: str) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": store.table(),
            "Item": store.serialize({**store.uid_key(stream_id, uid), "userId": user_id}),
            "ConditionExpression": "attribute_not_exists(pk) OR userId = :me",
            "ExpressionAttributeValues": store.values({":me": user_id}),
        }
    }


def _part_update(
    stream_id: str, user_id: str, uid: int, part: Optional[dict[str, Any]], profile: Optional[dict[str, Any]], *, watching: bool
) -> dict[str, Any]:
    timestamp = iso(now())
    values: dict[str, Any] = {":uid": uid, ":me": user_id, ":t": timestamp, ":true": True}
    sets = ["uid = if_not_exists(uid, :uid)", "userId = :me", "firstJoinedAt = if_not_exists(firstJoinedAt, :t)"]
    if watching:
        values.update({":apk": f"AUDIENCE#{stream_id}", ":ask": f"{timestamp}#{user_id}", ":search": _search_text(profile), ":false": False})
        sets += ["watching = :true", "everWatched = :true", "joinedAt = :t", "audiencePk = :apk", "audienceSk = :ask", "searchText = :search"]
        condition = "(attribute_not_exists(watching) OR watching = :false)"
        if not (part and part.get("everWatched")):
            condition += " AND attribute_not_exists(everWatched)"
    else:
        values[":false"] = False
        sets += ["streaming = :true", "streamingSince = :t"]
        condition = "(attribute_not_exists(streaming) OR streaming = :false)"
    condition += " AND uid = :uid" if part and "uid" in part else " AND attribute_not_exists(uid)"
    return {
        "Update": {
            "TableName": store.table(),
            "Key": store.serialize(store.part_key(stream_id, user_id)),
            "UpdateExpression": "SET " + ", ".join(sets),
            "ConditionExpression": condition,
            "ExpressionAttributeValues": store.values(values),
        }
    }


def _stream_update(stream_id: str, part: Optional[dict[str, Any]], *, watching: bool) -> dict[str, Any]:
    key = store.serialize(store.stream_key(stream_id))
    if not watching:
        return {
            "ConditionCheck": {
                "TableName": store.table(),
                "Key": key,
                "ConditionExpression": "#status IN (:scheduled, :active)",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": store.values({":scheduled": "scheduled", ":active": "active"}),
            }
        }
    first_time = not (part and part.get("everWatched"))
    return {
        "Update": {
            "TableName": store.table(),
            "Key": key,
            "UpdateExpression": "ADD audienceCount :one" + (", cumulativeAudience :one" if first_time else ""),
            "ConditionExpression": "#status = :active",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": store.values({":one": 1, ":active": "active"}),
        }
    }


def _raise_peak(stream_id: str) -> None:
    """Lift the peak to the current count (a no-op when it is already there)."""
    store.update_if(
        store.stream_key(stream_id), "SET peakAudience = audienceCount", "attribute_not_exists(peakAudience) OR peakAudience < audienceCount"
    )


def _raise_peak_if_possible(stream_id: str) -> None:
    """After a join: the join itself is recorded, so a peak write that a failing DynamoDB refuses is
    left for later — the peak is read as ``max(peak, current)`` and a leave raises it before lowering
    the count, so it is never lost, and the caller gets their tokens."""
    try:
        _raise_peak(stream_id)
    except Exception as exc:
        if retry_after(exc) is None:
            raise
        logger.warning("peak audience not raised; the next leave raises it", extra={"stream": stream_id, "error": type(exc).__name__})


def _search_text(profile: Optional[dict[str, Any]]) -> str:
    if not profile:
        return ""
    return profile.get("searchText") or fold(" ".join(str(profile.get(k) or "") for k in ("name", "surname", "username")))


# ---------------------------------------------------------------- leave


def leave(stream_id: str, caller: str) -> dict[str, Any]:
    """Stop watching (audience) or streaming (publishers). Not being in the stream is a no-op."""
    _, part = load_with_part(stream_id, caller)
    left = False
    if part and part.get("streaming"):
        store.client().update_item(
            TableName=store.table(),
            Key=store.serialize(store.part_key(stream_id, caller)),
            UpdateExpression="SET streaming = :false",
            ExpressionAttributeValues=store.values({":false": False}),
        )
        left = True
    if part and part.get("watching"):
        left = _stop_watching(stream_id, caller) or left
    return {"liveStreamId": stream_id, "userId": caller, "left": left}


def _stop_watching(stream_id: str, caller: str) -> bool:
    writes = [
        {
            "Update": {
                "TableName": store.table(),
                "Key": store.serialize(store.part_key(stream_id, caller)),
                "UpdateExpression": "SET watching = :false REMOVE audiencePk, audienceSk",
                "ConditionExpression": "watching = :true",
                "ExpressionAttributeValues": store.values({":false": False, ":true": True}),
            }
        },
        {
            "Update": {
                "TableName": store.table(),
                "Key": store.serialize(store.stream_key(stream_id)),
                "UpdateExpression": "ADD audienceCount :minus",
                # the count only goes down once the peak has seen it
                "ConditionExpression": "peakAudience >= audienceCount",
                "ExpressionAttributeValues": store.values({":minus": -1}),
            }
        },
    ]
    for _ in range(3):
        try:
            store.transact(writes)
            return True
        except ClientError as exc:
            codes = store.cancellation_codes(exc)
            if codes[:1] == ["ConditionalCheckFailed"]:
                return False  # a concurrent leave already did it
            if codes[1:2] == ["ConditionalCheckFailed"]:
                _raise_peak(stream_id)
                continue
            raise
    raise Conflict("liveStreamId: the audience is changing too fast, try again")


# ---------------------------------------------------------------- token renewal


def renew(stream_id: str, caller: str) -> dict[str, Any]:
    stream, part = load_with_part(stream_id, caller)
    if stream["status"] in ENDED:
        raise Conflict(f"id: the stream is {stream['status']}")
    if not part or "uid" not in part:
        raise Forbidden("id: join the stream before renewing its tokens")
    # a listed member renews publisher rights unless they are only watching; everyone else watches
    listed = role_of(stream, caller)
    role = "audience" if listed is None or (part.get("watching") and not part.get("streaming")) else listed
    return {"liveStream": to_api(stream, role_of(stream, caller, part)), **agora.mint(stream["channelName"], int(part["uid"]), caller, role)}


# ---------------------------------------------------------------- viewers


def viewers(stream_id: str, caller: str, page: int, limit: int, search: Optional[str]) -> dict[str, Any]:
    stream, part = load_with_part(stream_id, caller)
    if role_of(stream, caller, part) is None:
        raise Forbidden("id: only participants of the stream can list its viewers")
    total_audience = int(stream.get("audienceCount", 0)) if stream["status"] == "active" else 0
    if total_audience == 0:
        entries, total = [], 0
    elif search:
        matches = _audience(stream_id, None, fold(search.strip()))
        entries, total = matches[(page - 1) * limit : page * limit], len(matches)
    else:
        entries, total = _audience(stream_id, page * limit, None)[(page - 1) * limit :], total_audience
    users = [entry["userId"] for entry in entries]
    keys = [store.profile_key(u) for u in users] + [store.follow_key(caller, u) for u in users]
    found = {(i["pk"], i["sk"]): i for i in store.batch_get(keys)}
    items = []
    for entry in entries:
        user = entry["userId"]
        profile = found.get((f"USER#{user}", store.PROFILE)) or {}
        item = {"_id": user, **{k: profile.get(k) for k in PROFILE_FIELDS}}
        if not profile:
            item.update({k: v for k, v in unknown_summary(user).items() if k in item})
        item["followersCount"] = profile.get("followersCount", 0)
        item["followingCount"] = profile.get("followingCount", 0)
        item["isFollowing"] = (f"USER#{caller}", f"FOLLOWS#{user}") in found
        item["joinedAt"] = entry["joinedAt"]
        items.append(item)
    pages = math.ceil(total / limit) if total else 0
    return {
        "list": items,
        "pagination": {
            "currentPage": page,
            "totalPages": pages,
            "totalItems": total,
            "itemsPerPage": limit,
            "hasNextPage": page < pages,
            "hasPrevPage": page > 1,
        },
        "participantAudienceTotal": total_audience,
    }


def _audience(stream_id: str, wanted: Optional[int], search: Optional[str]) -> list[dict[str, Any]]:
    """Current audience newest first: the first ``wanted`` entries, or every entry matching ``search``."""
    query: dict[str, Any] = {
        "TableName": store.table(),
        "IndexName": "AudienceIndex",
        "KeyConditionExpression": "audiencePk = :pk",
        "ExpressionAttributeValues": store.values({":pk": f"AUDIENCE#{stream_id}"}),
        "ScanIndexForward": False,
    }
    if search:
        query["FilterExpression"] = "contains(searchText, :q)"
        query["ExpressionAttributeValues"] = store.values({":pk": f"AUDIENCE#{stream_id}", ":q": search})
    elif wanted is not None:
        query["Limit"] = wanted
    entries: list[dict[str, Any]] = []
    while True:
        response = store.client().query(**query)
        for raw in response.get("Items", []):
            item = store.deserialize(raw) or {}
            joined_at, _, user = item["audienceSk"].partition("#")
            entries.append({"userId": user, "joinedAt": joined_at})
        if wanted is not None and len(entries) >= wanted:
            return entries[:wanted]
        if "LastEvaluatedKey" not in response:
            return entries
        query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        if wanted is not None:
            query["Limit"] = wanted - len(entries)
