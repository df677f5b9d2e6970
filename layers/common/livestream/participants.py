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
presence sweep (:mod:`livestream.presence_sweep`) removes viewers past it with the leave's write.
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
             + 1 BatchGetItem per 100 keys (profiles, follows); a search instead of the window: 1 GetItem (its
             count) + 1 Query per shard of its prefix key (:mod:`livestream.audience_search`)

The requests themselves (keys, conditions, transactions) are :mod:`livestream.store.audience`'s.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any, Literal, NamedTuple, Optional

from livestream import agora, audience_search, clock
from livestream.clock import iso, now
from livestream.errors import BadRequest, Conflict, Forbidden, NotFound
from livestream.settings import get_settings
from livestream.store import audience as db
from livestream.streams import load_with_part, role_of, to_api
from livestream.users import unknown_summary

JoinAs = Literal["broadcaster", "guest", "audience"]
Flag = Optional[Literal["watching", "streaming"]]  # what a join sets: watching (counted), streaming, or neither
UID_ATTEMPTS = 5
ENDED = ("ended", "cancelled")
PROFILE_FIELDS = ("username", "name", "surname", "profilePhoto", "followersCount", "followingCount", "expertise")
PUBLISHERS = ("host", "broadcaster", "guest")
Item = dict[str, Any]


# ---------------------------------------------------------------- join


def join(stream_id: str, caller: str, as_role: JoinAs) -> dict[str, Any]:
    # eventually consistent (half the read units on the stream item every join reads); a stale
    # participant is caught by the conditions of the write
    stream, part, access, profile = db.join_reads(stream_id, caller)
    if stream is None:
        raise NotFound(f"liveStreamId: no stream {stream_id}")
    listed = role_of(stream, caller)
    _check_join(stream, listed, as_role, has_access=access is not None)
    # hosts, broadcasters and guests are never audience: through join-as-audience they keep their role
    # (publisher tokens) and are neither listed as viewers nor counted, nor marked as streaming
    role = listed or "audience"
    flag: Flag = "watching" if role == "audience" else ("streaming" if as_role != "audience" else None)
    agora.credentials()  # read (and cached) before anything is written: Secrets Manager failing leaves no half-done join
    uid = _enter(stream, caller, part, profile, flag)
    return {"liveStream": to_api(stream, role), **agora.mint(stream["channelName"], uid, caller, role)}


def _check_join(stream: Item, listed: Optional[str], as_role: JoinAs, *, has_access: bool) -> None:
    """The stream's state first (409), then the role (403), then a paid stream's access grant (403)."""
    if stream["status"] in ENDED or (as_role == "audience" and stream["status"] != "active"):
        raise Conflict(f"liveStreamId: the stream is {stream['status']}")
    if as_role != "audience":
        _check_publisher(listed, as_role)
    elif stream.get("price") is not None and listed is None and not has_access:
        raise Forbidden("liveStreamId: this paid stream needs a granted access")


def _check_publisher(listed: Optional[str], as_role: JoinAs) -> None:
    if as_role == "broadcaster" and listed not in ("host", "broadcaster"):
        raise Forbidden("liveStreamId: only the creator and listed broadcasters join as broadcaster")
    if as_role == "guest" and listed != "guest":
        raise Forbidden("liveStreamId: only listed guests join as guest")


def _already_in(part: Optional[Item], flag: Flag) -> bool:
    return bool(part and (part.get(flag) if flag else "uid" in part))


def _enter(stream: Item, caller: str, part: Optional[Item], profile: Optional[Item], flag: Flag) -> int:
    """Record the participant (uid, flag) and answer their uid. Idempotent; the aggregator counts them."""
    stream_id = stream["id"]
    if part and _already_in(part, flag):
        if flag != "watching" or refresh_deadline(stream_id, caller):
            return int(part["uid"])  # already in: nothing to count twice
        part = db.participant(stream_id, caller)  # the read was stale: they left meanwhile
    return _allocate_and_enter(stream_id, caller, part, profile, flag)


def _allocate_and_enter(stream_id: str, caller: str, part: Optional[Item], profile: Optional[Item], flag: Flag) -> int:
    """Enter with the participant's uid, or the first candidate no other user holds."""
    candidate = 0  # advances only when another user holds the candidate uid
    for _ in range(UID_ATTEMPTS):
        uid = int(part["uid"]) if part and "uid" in part else agora.uid_candidate(stream_id, caller, candidate)
        outcome = _record_entry(stream_id, caller, uid, part, profile, flag)
        if outcome == "entered":
            return uid
        if outcome == "changed":  # a concurrent join of the same user got there first (same uid), or our read was stale
            part = db.participant(stream_id, caller)
            if part and _already_in(part, flag):
                return int(part["uid"])
        else:
            candidate += 1  # the uid guard: another user holds this uid
    raise Conflict("liveStreamId: could not allocate a uid, try again")


def _record_entry(stream_id: str, caller: str, uid: int, part: Optional[Item], profile: Optional[Item], flag: Flag) -> str:
    timestamp = _now_iso()
    watch = db.Watch(timestamp, _search_text(profile), presence_deadline()) if flag == "watching" else None
    claim = not (part and "uid" in part)
    ever = bool(part and part.get("everWatched"))
    return db.enter(
        stream_id, caller, uid, claim_uid=claim, watch=watch, streaming=flag == "streaming", ever_watched=ever, at=timestamp, api_at=_epoch()
    )


def _now_iso() -> str:
    return _iso(now())


def _iso(at: datetime) -> str:
    stamp = iso(at)
    assert stamp is not None
    return stamp


def presence_deadline(at: Optional[datetime] = None) -> str:
    """When a viewer seen at ``at`` (default now) stops counting unless renewed or confirmed: the token
    lifetime plus the grace period."""
    settings = get_settings()
    return _iso((at or clock.now()) + timedelta(seconds=settings.agora_token_ttl_seconds + settings.presence_grace_seconds))


def _epoch() -> int:
    return int(clock.now().timestamp())


def refresh_deadline(stream_id: str, user_id: str) -> bool:
    """Push a current viewer's deadline forward (joining again, renewing tokens); ``False`` if not watching."""
    return db.refresh_deadline(stream_id, user_id, presence_deadline())


def _search_text(profile: Optional[Item]) -> str:
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
        db.stop_streaming(stream_id, caller, _epoch())
        left = True
    if part and part.get("watching"):
        left = db.stop_watching(stream_id, caller, api_at=_epoch()) or left
    return {"liveStreamId": stream_id, "userId": caller, "left": left}


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
    stream: Item,
    user_id: str,
    part: Item,
    profile: Optional[Item],
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
    for _ in range(UID_ATTEMPTS):
        verdict = _freshness(part, guard)
        if verdict != "fresh":
            return verdict
        outcome = db.settle(stream_id, user_id, _settlement(stream, user_id, part, profile, (watching, streaming), guard))
        if outcome != "changed":
            return outcome
        part = db.participant(stream_id, user_id) or {}
        if "uid" not in part:
            return "stale"
    raise Conflict("the participant is changing too fast, try again")


def _settlement(
    stream: Item, user_id: str, part: Item, profile: Optional[Item], wanted: tuple[Optional[bool], Optional[bool]], guard: Guard
) -> db.Settlement:
    """Where the event takes the participant: its flags as reported, within the rules of joining."""
    watching, streaming = _flags(stream, user_id, part, wanted)
    known = profile or ({"searchText": part["searchText"]} if part.get("searchText") else None)
    timestamp = _now_iso()
    return db.Settlement(
        watching=watching,
        streaming=streaming,
        seq=guard.seq,
        ts=guard.ts,
        watch=db.Watch(timestamp, _search_text(known), presence_deadline()),
        ever_watched=bool(part.get("everWatched")),
        deadline=presence_deadline(),
        since=timestamp,
        notice=(guard.notice_id, _epoch() + NOTICE_TTL_SECONDS) if guard.notice_id else None,
    )


def _flags(stream: Item, user_id: str, part: Item, wanted: tuple[Optional[bool], Optional[bool]]) -> tuple[tuple[bool, bool], tuple[bool, bool]]:
    """(was, is) watching and streaming: as reported (``None``: unchanged); one starts watching only a live
    stream, and streams only as a listed publisher until the end."""
    was_watching, was_streaming = bool(part.get("watching")), bool(part.get("streaming"))
    watch = was_watching if wanted[0] is None else wanted[0]
    publish = was_streaming if wanted[1] is None else wanted[1]
    listed = role_of(stream, user_id) in PUBLISHERS
    # one starts watching only a live stream, and hosts, broadcasters and guests are never audience
    watch = watch and (was_watching or (stream["status"] == "active" and not listed))
    publish = publish and (was_streaming or (listed and stream["status"] not in ENDED))
    return (was_watching, watch), (was_streaming, publish)


def _freshness(part: Item, guard: Guard) -> str:
    """``fresh`` when the event is newer than what the participant reflects; ``duplicate`` when it is
    the client event last applied (same ``clientSeq``); else ``stale``."""
    if guard.seq is not None and part.get("lastClientSeq") == guard.seq:
        return "duplicate"
    if "apiAt" in part and part["apiAt"] >= guard.ts:
        return "stale"
    if guard.seq is None:
        return "fresh" if part.get("lastEventTs", 0) <= guard.ts else "stale"
    return "fresh" if part.get("lastClientSeq", -1) < guard.seq else "stale"


def claim_notice(notice_id: str) -> bool:
    """Record a channel-wide notification as applied; ``False`` if it already was."""
    return db.claim_notice(notice_id, _epoch() + NOTICE_TTL_SECONDS)


def release_notice(notice_id: str) -> None:
    """Forget a notification whose application failed half-way, so that Agora's retry applies it."""
    db.release_notice(notice_id)


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
    the whole count (a search's: its matches), ``totalPages`` / ``hasNextPage`` stop at the window."""
    if page * limit > VIEWERS_WINDOW:
        raise BadRequest(f"page: page × limit must be at most {VIEWERS_WINDOW} (pages reach the newest {VIEWERS_WINDOW} viewers)")
    stream, part = load_with_part(stream_id, caller)
    if role_of(stream, caller, part) is None:
        raise Forbidden("id: only participants of the stream can list its viewers")
    total_audience = max(int(stream.get("audienceCount", 0)), 0) if stream["status"] == "active" else 0
    if total_audience == 0:
        newest, total = list[str](), 0
    elif search:  # the search index: a fixed number of reads whatever the audience
        newest, total = audience_search.search(stream_id, search, page * limit, limit)
    else:  # the newest viewers' window, kept by the aggregator: one read whatever the audience
        newest, total = db.window(stream_id, consistent=False)[: page * limit], total_audience
    entries = [entry.split("#", 1) for entry in newest[(page - 1) * limit : page * limit]]
    pages = math.ceil(min(total, VIEWERS_WINDOW) / limit) if total else 0
    return {
        "list": _viewer_items(caller, entries),
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


def _viewer_items(caller: str, entries: list[list[str]]) -> list[Item]:
    """Each viewer (``[joinedAt, userId]``) as the list shows them: profile, counts, ``isFollowing``."""
    profiles, follows = db.profiles_and_follows(caller, [user for _, user in entries])
    items = []
    for joined_at, user in entries:
        profile = profiles.get(user) or {}
        item = {"_id": user, **{k: profile.get(k) for k in PROFILE_FIELDS}}
        if not profile:
            item.update({k: v for k, v in unknown_summary(user).items() if k in item})
        item.update(
            followersCount=profile.get("followersCount", 0),
            followingCount=profile.get("followingCount", 0),
            isFollowing=user in follows,
            joinedAt=joined_at,
        )
        items.append(item)
    return items
