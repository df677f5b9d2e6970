"""Joining, leaving, token renewal and the viewers list.

A participant item (``PART#<user>``) holds the user's Agora uid in the stream (allocated once,
guarded by a ``UID#<uid>`` item so no two users share one) and two flags: ``watching`` (in the
audience now; indexed in AudienceIndex) and ``streaming`` (publishing as host, broadcaster or guest).
Participants, uid guards and AudienceIndex entries live under AUDIENCE_SHARDS partition keys per stream
(``STREAM#<id>#P<n>``, ``AUDIENCE#<id>#<n>``, see :mod:`livestream.store`), so a join burst on one stream
spreads over them.

Joins and leaves write no hot key: a join or leave is one conditional write of the participant (a
transaction with the uid guard on a first join); the stream item is only read (eventually consistent)
for its state. The counters on the stream item (``audienceCount``, ``peakAudience``,
``cumulativeAudience``) are derived from the participants' changes by the aggregator on the table's
stream (:mod:`livestream.aggregator`), exactly once, and settle within seconds: a participant starting
to watch counts +1 (and +1 cumulative the first time: ``everWatched``), stopping counts −1.

Presence: a viewer carries a deadline (token lifetime + PRESENCE_GRACE_SECONDS, indexed in the sparse
ExpiryIndex) that joining, token renewal and a confirming Agora channel event push forward; the
presence sweep (:mod:`livestream.presence`) removes viewers past it through :func:`drop_stale`.
Agora's channel events change the same flags through :func:`settle`, guarded by the participant's last
applied ``clientSeq`` (and the time of its last join/leave through the API, ``apiAt``) in the same
conditional write.

Round trips (DynamoDB):
  join       1 BatchGetItem, eventually consistent (stream, participant, access, profile) + 1 UpdateItem
             (a first join: 1 TransactWriteItems with the uid guard); a repeat join of a viewer: 1 UpdateItem
  leave      1 BatchGetItem + at most 1 UpdateItem
  renew      1 BatchGetItem (+1 UpdateItem pushing a viewer's deadline)
  settle     1 UpdateItem (1 TransactWriteItems with the notice's deduplication item)
  viewers    1 BatchGetItem (stream, caller) + 1 GetItem (the newest-viewers window, eventually consistent)
             + 1 BatchGetItem per 100 keys (profiles, follows); a search: a Query of every AudienceIndex shard
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any, Literal, NamedTuple, Optional

from livestream import agora, audience_search, clock, store
from livestream.clock import iso, now
from livestream.errors import BadRequest, Conflict, Forbidden, NotFound
from livestream.settings import get_settings
from livestream.streams import load_with_part, role_of, to_api
from livestream.users import unknown_summary

JoinAs = Literal["broadcaster", "guest", "audience"]
UID_ATTEMPTS = 5
ENDED = ("ended", "cancelled")
PROFILE_FIELDS = ("username", "name", "surname", "profilePhoto", "followersCount", "followingCount", "expertise")
PUBLISHERS = ("host", "broadcaster", "guest")
EXPIRY_ATTRIBUTES = ("expPk", "expSk", "presenceDeadline")


# ---------------------------------------------------------------- join


def join(stream_id: str, caller: str, as_role: JoinAs) -> dict[str, Any]:
    # eventually consistent (half the read units on the stream item every join reads); a stale
    # participant is caught by the conditions of the write
    stream, part, access, profile = store.get_many(
        store.stream_key(stream_id),
        store.part_key(stream_id, caller),
        store.access_key(stream_id, caller),
        store.profile_key(caller),
        consistent=False,
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
    """Record the participant (uid, flag) and answer their uid. Idempotent; the aggregator counts them."""
    stream_id = stream["id"]
    if part and (part.get("watching") if watching else part.get("streaming")):
        if not watching or refresh_deadline(stream_id, caller):
            return int(part["uid"])  # already in: nothing to count twice
        part = store.get(store.part_key(stream_id, caller))  # the read was stale: they left meanwhile
    candidate = 0  # advances only when another user holds the candidate uid
    for _ in range(UID_ATTEMPTS):
        has_uid = bool(part and "uid" in part)
        uid = int(part["uid"]) if part and has_uid else agora.uid_candidate(stream_id, caller, candidate)
        writes = [] if has_uid else [_claim_uid(stream_id, uid, caller)]
        writes.append(_part_update(stream_id, caller, uid, part, profile, watching=watching))
        codes = store.write(writes)
        if not codes:
            return uid
        if codes[-1] == "ConditionalCheckFailed":
            # a concurrent join of the same user got there first (with the same uid), or our read was stale
            part = store.get(store.part_key(stream_id, caller))
            if part and (part.get("watching") if watching else part.get("streaming")):
                return int(part["uid"])
            continue
        candidate += 1  # the uid guard: another user holds this uid
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
    values: dict[str, Any] = {":uid": uid, ":me": user_id, ":t": timestamp, ":true": True, ":api": _epoch()}
    sets = ["uid = if_not_exists(uid, :uid)", "userId = :me", "firstJoinedAt = if_not_exists(firstJoinedAt, :t)", "apiAt = :api"]
    if watching:
        watch_sets, watch_values = _watch_sets(stream_id, user_id, profile, timestamp)
        sets += watch_sets
        values.update(watch_values, **{":false": False})
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
            # a join through the API starts a new client session: Agora events older than it are stale
            # by ``apiAt``, and the new session's clientSeq (a new device's, say) starts afresh
            "UpdateExpression": "SET " + ", ".join(sets) + " REMOVE lastClientSeq",
            "ConditionExpression": condition,
            "ExpressionAttributeValues": store.values(values),
        }
    }


def _watch_sets(stream_id: str, user_id: str, profile: Optional[dict[str, Any]], timestamp: str) -> tuple[list[str], dict[str, Any]]:
    """What starting to watch sets on a participant: the flags, its AudienceIndex entry and its deadline."""
    partition = store.audience_partition(stream_id, store.audience_shard(user_id))
    values = {":true": True, ":t": timestamp, ":apk": partition, ":ask": f"{timestamp}#{user_id}", ":search": _search_text(profile)}
    sets = ["watching = :true", "everWatched = :true", "joinedAt = :t", "audiencePk = :apk", "audienceSk = :ask", "searchText = :search"]
    deadline_sets, deadline_values = _deadline_sets(stream_id, user_id)
    return sets + deadline_sets, {**values, **deadline_values}


def presence_deadline(at: Optional[datetime] = None) -> str:
    """When a viewer seen at ``at`` (default now) stops counting unless renewed or confirmed: the token
    lifetime plus the grace period."""
    settings = get_settings()
    return iso((at or clock.now()) + timedelta(seconds=settings.agora_token_ttl_seconds + settings.presence_grace_seconds))


def _deadline_sets(stream_id: str, user_id: str) -> tuple[list[str], dict[str, Any]]:
    deadline = presence_deadline()
    marker = store.expiry_marker(deadline, stream_id, user_id)
    return ["expPk = :epk", "expSk = :esk", "presenceDeadline = :deadline"], {":epk": marker["expPk"], ":esk": marker["expSk"], ":deadline": deadline}


def _epoch() -> int:
    return int(clock.now().timestamp())


def refresh_deadline(stream_id: str, user_id: str) -> bool:
    """Push a current viewer's deadline forward (joining again, renewing tokens); ``False`` if not watching."""
    sets, values = _deadline_sets(stream_id, user_id)
    return store.update_if(store.part_key(stream_id, user_id), "SET " + ", ".join(sets), "watching = :true", {**values, ":true": True}) is not None


def _search_text(profile: Optional[dict[str, Any]]) -> str:
    """What the search index (kept from the table's stream) finds the viewer by: their folded names."""
    if profile and "searchText" in profile and "name" not in profile:
        return str(profile["searchText"])  # the participant's own, when the profile is not at hand
    return audience_search.search_text(profile)


# ---------------------------------------------------------------- leave


def leave(stream_id: str, caller: str) -> dict[str, Any]:
    """Stop watching (audience) or streaming (publishers). Not being in the stream is a no-op."""
    _, part = load_with_part(stream_id, caller)
    left = False
    if part and part.get("streaming"):
        store.client().update_item(
            TableName=store.table(),
            Key=store.serialize(store.part_key(stream_id, caller)),
            UpdateExpression="SET streaming = :false, apiAt = :api",
            ExpressionAttributeValues=store.values({":false": False, ":api": _epoch()}),
        )
        left = True
    if part and part.get("watching"):
        left = _stop_watching(stream_id, caller) or left
    return {"liveStreamId": stream_id, "userId": caller, "left": left}


UNWATCH = "watching = :false REMOVE audiencePk, audienceSk, " + ", ".join(EXPIRY_ATTRIBUTES)


def _stop_watching(stream_id: str, caller: str, *, condition: str = "", values: Optional[dict[str, Any]] = None) -> bool:
    """Stop a viewer watching (the aggregator counts them out); ``condition`` (with ``values``) guards
    the participant further (the sweep: the deadline it saw has not moved). ``False`` when the
    participant no longer qualifies (a concurrent leave did it, or the guard failed)."""
    part_values = {":false": False, ":true": True, **(values or {})}
    sets = "SET apiAt = :api, " if not condition else "SET "
    if not condition:
        part_values[":api"] = _epoch()
    update = {
        "Update": {
            "TableName": store.table(),
            "Key": store.serialize(store.part_key(stream_id, caller)),
            "UpdateExpression": sets + UNWATCH,
            "ConditionExpression": "watching = :true" + (f" AND ({condition})" if condition else ""),
            "ExpressionAttributeValues": store.values(part_values),
        }
    }
    return not store.write([update])


# ---------------------------------------------------------------- presence (Agora channel events, the sweep)


class Guard(NamedTuple):
    """What makes a channel event apply once and in order. ``notice_id``: the notification's id, put
    (``NOTICE#<id>``, expiring by TTL) in the same transaction, so the same notification twice has one
    effect. ``seq``: Agora's ``clientSeq``, applied only when newer than the participant's last applied
    one (``None`` for channel-wide events). ``ts``: when it happened at Agora (Unix s); an event older
    than the participant's last join or leave through the API, or than its last applied event (for
    channel-wide events), is stale."""

    notice_id: Optional[str]
    seq: Optional[int]
    ts: int


NOTICE_TTL_SECONDS = 86400  # Agora retries a notification for minutes; a day is ample


def settle(
    stream: dict[str, Any],
    user_id: str,
    part: dict[str, Any],
    profile: Optional[dict[str, Any]],
    *,
    watching: Optional[bool],
    streaming: Optional[bool],
    guard: Guard,
) -> str:
    """Bring a participant to what a channel event reports (``None``: unchanged), with the same effect
    and rules as joining and leaving: one starts watching only a live stream, only listed publishers
    stream, a viewer still watching is confirmed (deadline pushed). ``"applied"``, ``"duplicate"``
    (notification already applied) or ``"stale"`` (older than what the participant already reflects)."""
    stream_id = stream["id"]
    listed = role_of(stream, user_id)
    for _ in range(UID_ATTEMPTS):
        verdict = _freshness(part, guard)
        if verdict != "fresh":
            return verdict
        was_watching, was_streaming = bool(part.get("watching")), bool(part.get("streaming"))
        watch = was_watching if watching is None else watching
        publish = was_streaming if streaming is None else streaming
        if watch and not was_watching and stream["status"] != "active":
            watch = False  # nobody starts watching a stream that is not live
        if publish and not was_streaming and (listed not in PUBLISHERS or stream["status"] in ENDED):
            publish = False  # only listed publishers stream, and only until the end
        writes = [_settle_part(stream_id, user_id, part, profile, (was_watching, watch), (was_streaming, publish), guard)]
        if guard.notice_id:
            writes.append(_notice_put(guard.notice_id))
        codes = store.write(writes)
        if not codes:
            return "applied"
        if guard.notice_id and codes[-1] == "ConditionalCheckFailed":
            return "duplicate"
        part = store.get(store.part_key(stream_id, user_id)) or {}
        if "uid" not in part:
            return "stale"
    raise Conflict("the participant is changing too fast, try again")


def _freshness(part: dict[str, Any], guard: Guard) -> str:
    """``fresh`` when the event is newer than what the participant reflects; ``duplicate`` when it is
    the client event last applied (same ``clientSeq``); else ``stale``."""
    if guard.seq is not None and part.get("lastClientSeq") == guard.seq:
        return "duplicate"
    if "apiAt" in part and part["apiAt"] >= guard.ts:
        return "stale"
    if guard.seq is None:
        return "fresh" if part.get("lastEventTs", 0) <= guard.ts else "stale"
    return "fresh" if part.get("lastClientSeq", -1) < guard.seq else "stale"


def _settle_part(
    stream_id: str,
    user_id: str,
    part: dict[str, Any],
    profile: Optional[dict[str, Any]],
    watching: tuple[bool, bool],
    streaming: tuple[bool, bool],
    guard: Guard,
) -> dict[str, Any]:
    values: dict[str, Any] = {":true": True, ":false": False, ":ts": guard.ts}
    sets, removes = ["lastEventTs = :ts"], []
    conditions = ["attribute_exists(uid)", "(attribute_not_exists(apiAt) OR apiAt < :ts)"]
    if guard.seq is None:
        conditions.append("(attribute_not_exists(lastEventTs) OR lastEventTs <= :ts)")
    else:
        sets.append("lastClientSeq = :seq")
        values[":seq"] = guard.seq
        conditions.append("(attribute_not_exists(lastClientSeq) OR lastClientSeq < :seq)")
    was, now_watching = watching
    if now_watching and not was:
        known = profile or ({"searchText": part["searchText"]} if part.get("searchText") else None)
        watch_sets, watch_values = _watch_sets(stream_id, user_id, known, iso(now()))
        sets += watch_sets
        values.update(watch_values)
        conditions.append("(attribute_not_exists(watching) OR watching = :false)")
        if not part.get("everWatched"):
            conditions.append("attribute_not_exists(everWatched)")
    elif was and not now_watching:
        sets.append("watching = :false")
        removes += ["audiencePk", "audienceSk", *EXPIRY_ATTRIBUTES]
        conditions.append("watching = :true")
    elif now_watching:  # still watching: the event confirms the viewer
        deadline_sets, deadline_values = _deadline_sets(stream_id, user_id)
        sets += deadline_sets
        values.update(deadline_values)
        conditions.append("watching = :true")
    else:
        conditions.append("(attribute_not_exists(watching) OR watching = :false)")
    was, now_streaming = streaming
    if now_streaming and not was:
        sets += ["streaming = :true", "streamingSince = :since"]
        values[":since"] = iso(now())
        conditions.append("(attribute_not_exists(streaming) OR streaming = :false)")
    elif was and not now_streaming:
        sets.append("streaming = :false")
        conditions.append("streaming = :true")
    else:
        conditions.append("streaming = :true" if now_streaming else "(attribute_not_exists(streaming) OR streaming = :false)")
    return {
        "Update": {
            "TableName": store.table(),
            "Key": store.serialize(store.part_key(stream_id, user_id)),
            "UpdateExpression": "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else ""),
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeValues": store.values(values),
        }
    }


def _notice_put(notice_id: str) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": store.table(),
            "Item": store.serialize({**store.notice_key(notice_id), "expiresAt": _epoch() + NOTICE_TTL_SECONDS}),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def claim_notice(notice_id: str) -> bool:
    """Record a channel-wide notification as applied; ``False`` if it already was."""
    try:
        store.client().put_item(**_notice_put(notice_id)["Put"])
        return True
    except store.client().exceptions.ConditionalCheckFailedException:
        return False


def release_notice(notice_id: str) -> None:
    """Forget a notification whose application failed half-way, so that Agora's retry applies it."""
    store.client().delete_item(TableName=store.table(), Key=store.serialize(store.notice_key(notice_id)))


def drop_stale(stream_id: str, user_id: str, seen: str) -> bool:
    """Remove a viewer whose deadline (ExpiryIndex sort key ``seen``) passed, as a leave would; ``False``
    when they left meanwhile or their deadline moved (renewed, confirmed)."""
    return _stop_watching(stream_id, user_id, condition="expSk = :seen", values={":seen": seen})


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
    if part.get("watching"):
        refresh_deadline(stream_id, caller)
    return {"liveStream": to_api(stream, role_of(stream, caller, part)), **agora.mint(stream["channelName"], int(part["uid"]), caller, role)}


# ---------------------------------------------------------------- viewers


VIEWERS_WINDOW = 1000  # pages reach the newest 1,000 viewers


def viewers(stream_id: str, caller: str, page: int, limit: int, search: Optional[str]) -> dict[str, Any]:
    """A page of the current audience, newest first, within the newest VIEWERS_WINDOW; ``totalItems`` is
    the whole count, ``totalPages`` / ``hasNextPage`` stop at the window."""
    if page * limit > VIEWERS_WINDOW:
        raise BadRequest(f"page: page × limit must be at most {VIEWERS_WINDOW} (pages reach the newest {VIEWERS_WINDOW} viewers)")
    stream, part = load_with_part(stream_id, caller)
    if role_of(stream, caller, part) is None:
        raise Forbidden("id: only participants of the stream can list its viewers")
    total_audience = max(int(stream.get("audienceCount", 0)), 0) if stream["status"] == "active" else 0
    if total_audience == 0:
        entries, total = [], 0
    elif search:  # the search index: a fixed number of reads whatever the audience
        found, total = audience_search.search(stream_id, search, page * limit)
        entries = [dict(zip(("joinedAt", "userId"), e.split("#", 1), strict=True)) for e in found[(page - 1) * limit : page * limit]]
    else:  # the newest viewers' window, kept by the aggregator: one read whatever the audience
        window = (store.get(store.window_key(stream_id), consistent=False) or {}).get("entries") or []
        entries = [dict(zip(("joinedAt", "userId"), e.split("#", 1), strict=True)) for e in window[(page - 1) * limit : page * limit]]
        total = total_audience
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
    pages = math.ceil(min(total, VIEWERS_WINDOW) / limit) if total else 0
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
