"""Stream items: their status, the typed item the domain reads, and the writes that create, start, end
and grant access to a stream (with the index attributes each write keeps right).

Index attributes of a stream item (see the package docstring): ``statePk = STATE#<live-event state>``
(StateIndex), ``creatorPk = CREATOR#<userId>`` (CreatorIndex), ``duePk`` while its reminders are due
(DueIndex); of each membership item, ``memberPk = MEMBER#<userId>`` while the stream is live or
scheduled (MemberIndex).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Optional

from livestream import store
from livestream.store import ConditionCheck, Operation, Put, Update


class StreamStatus(StrEnum):
    """A stream's status: ``scheduled`` → ``active`` → ``ended``, or ``scheduled`` → ``cancelled``."""

    SCHEDULED = "scheduled"
    ACTIVE = "active"
    ENDED = "ended"
    CANCELLED = "cancelled"

    @property
    def live_event_state(self) -> str:
        """The state the live platform's listing shows (its StateIndex partition)."""
        return {"scheduled": "created", "active": "ongoing"}.get(self.value, "ended")

    @property
    def upcoming(self) -> bool:
        """Live or scheduled: listed among a user's upcoming streams."""
        return self in (StreamStatus.ACTIVE, StreamStatus.SCHEDULED)


# action → {from status: to status}
TRANSITIONS: dict[str, dict[StreamStatus, StreamStatus]] = {
    "start": {StreamStatus.SCHEDULED: StreamStatus.ACTIVE},
    "end": {StreamStatus.ACTIVE: StreamStatus.ENDED, StreamStatus.SCHEDULED: StreamStatus.CANCELLED},
}


@dataclass(frozen=True)
class Stream:
    """A stream item as stored, typed: built once, by :meth:`of`, from what DynamoDB returned."""

    id: str
    title: str
    liveStreamType: str
    channelName: str
    creatorId: str
    creator: dict[str, Any]
    status: StreamStatus
    createdAt: str
    updatedAt: str
    guestIds: list[str] = field(default_factory=list)
    guests: list[dict[str, Any]] = field(default_factory=list)
    broadcasterIds: list[str] = field(default_factory=list)
    broadcasters: list[dict[str, Any]] = field(default_factory=list)
    thumbnailKey: Optional[str] = None
    thumbnailUrl: Optional[str] = None
    price: Optional[float] = None
    interest: Optional[str] = None
    durationGoal: Optional[int] = None
    motivation: Optional[str] = None
    startedAt: Optional[str] = None
    plannedStartDate: Optional[str] = None
    endedAt: Optional[str] = None
    audienceCount: int = 0
    peakAudience: int = 0
    cumulativeAudience: int = 0
    reminderRevision: Optional[int] = None
    inFlight: list[str] = field(default_factory=list)
    due: bool = False  # in DueIndex: its reminders are still to be sent

    @classmethod
    def of(cls, item: Mapping[str, Any] | Stream) -> Stream:
        if isinstance(item, Stream):
            return item
        known = {name: item[name] for name in _FIELDS if item.get(name) is not None}
        return cls(**{**known, "status": StreamStatus(item["status"]), "due": "duePk" in item})

    @property
    def members(self) -> list[str]:
        """Creator, broadcasters and guests: the users with a membership item."""
        return [self.creatorId, *self.broadcasterIds, *self.guestIds]

    @property
    def hosts(self) -> list[str]:
        """Creator and broadcasters: the users who may stream."""
        return [self.creatorId, *self.broadcasterIds]


_FIELDS = [name for name in Stream.__dataclass_fields__ if name not in ("status", "due")]


def get(stream_id: str) -> Optional[Stream]:
    item = store.get(store.stream_key(stream_id))
    return Stream.of(item) if item is not None else None


def with_participant(stream_id: str, user_id: str) -> tuple[Optional[dict[str, Any]], Optional[dict[str, Any]]]:
    """The stream item and ``user_id``'s participant item, in one BatchGetItem."""
    stream, part = store.get_many(store.stream_key(stream_id), store.part_key(stream_id, user_id))
    return stream, part


# ---------------------------------------------------------------- create


Created = Literal["written", "channel taken", "along refused"]


def create(stream: Mapping[str, Any], members: Sequence[tuple[str, str]], *, along: Optional[Operation | dict[str, Any]] = None) -> Created:
    """Write a new stream (its attributes, ``id``, ``status`` and ``channelName`` included), its
    channel-name guard, one membership item per ``(userId, role)`` and ``along`` (another write that
    must happen with the stream or not at all: the completion of its idempotency record), in one
    transaction. Nothing is written when the channel name is taken or ``along``'s condition failed."""
    stream_id, created = stream["id"], stream["createdAt"]
    status = StreamStatus(stream["status"])
    item = {
        **stream,
        **store.stream_key(stream_id),
        "statePk": f"STATE#{status.live_event_state}",
        "stateSk": f"{created}#{stream_id}",
        "creatorPk": f"CREATOR#{stream['creatorId']}",
        "creatorSk": f"{created}#{stream_id}",
    }
    if status == StreamStatus.SCHEDULED:
        item.update(store.due_marker(stream["plannedStartDate"], stream_id))
    index = _member_index(stream_id, status, stream.get("startedAt"), stream.get("plannedStartDate"))
    writes: list[Operation | dict[str, Any]] = [
        Put(item, "attribute_not_exists(pk)"),
        Put({**store.channel_key(stream["channelName"]), "streamId": stream_id}, "attribute_not_exists(pk)"),
        *(Put({**store.member_key(stream_id, user), "userId": user, "role": role, **index(user)}) for user, role in members),
    ]
    if along is not None:
        writes.append(along)
    codes = store.transact_codes(writes)
    if codes[:1] == ["ConditionalCheckFailed"]:
        raise RuntimeError(f"stream id {stream_id} is taken")  # ids are random: a clash is a fault, not a retry
    if not codes:
        return "written"
    return "along refused" if along is not None and codes[-1] == "ConditionalCheckFailed" else "channel taken"


def _member_index(stream_id: str, status: StreamStatus, started: Optional[str], planned: Optional[str]) -> Any:
    """MemberIndex attributes by user: live streams under ``A#startedAt``, scheduled ones under
    ``S#plannedStartDate``, none once the stream is over."""

    def index(user_id: str) -> dict[str, str]:
        if status == StreamStatus.ACTIVE:
            return {"memberPk": f"MEMBER#{user_id}", "memberSk": f"A#{started}#{stream_id}"}
        if status == StreamStatus.SCHEDULED:
            return {"memberPk": f"MEMBER#{user_id}", "memberSk": f"S#{planned}#{stream_id}"}
        return {}

    return index


# ---------------------------------------------------------------- transitions


def transition(stream: Stream, target: StreamStatus, changes: Mapping[str, Any]) -> bool:
    """Move ``stream`` to ``target`` with ``changes`` (``updatedAt``, ``startedAt`` / ``endedAt``) and its
    memberships' MemberIndex entries along, in one transaction conditional on the status it had:
    ``False`` when it changed meanwhile. Leaving ``scheduled`` also leaves DueIndex (no reminders)."""
    attributes = {"status": target.value, **changes, "statePk": f"STATE#{target.live_event_state}"}
    index = _member_index(stream.id, target, attributes.get("startedAt", stream.startedAt), stream.plannedStartDate)
    writes = [
        Update(
            store.stream_key(stream.id),
            f"SET {', '.join(f'#{k} = :{k}' for k in attributes)} REMOVE duePk, dueSk",
            "#status = :from",
            values={**{f":{k}": v for k, v in attributes.items()}, ":from": stream.status.value},
            names={f"#{k}": k for k in attributes},
        ),
        *(_member_update(stream.id, user, index(user)) for user in stream.members),
    ]
    return not store.transact_codes(writes)


def _member_update(stream_id: str, user_id: str, index: dict[str, str]) -> Update:
    key = store.member_key(stream_id, user_id)
    if not index:
        return Update(key, "REMOVE memberPk, memberSk")
    return Update(key, "SET memberPk = :pk, memberSk = :sk", values={":pk": index["memberPk"], ":sk": index["memberSk"]})


# ---------------------------------------------------------------- paid access


def grant_access(stream_id: str, user_id: str, at: str) -> Optional[Literal["stream", "user"]]:
    """Record ``user_id``'s paid access to ``stream_id`` (kept as first granted at ``at``), both
    existing; else which one is missing."""
    codes = store.transact_codes(
        [
            ConditionCheck(store.stream_key(stream_id), "attribute_exists(pk)"),
            ConditionCheck(store.profile_key(user_id), "attribute_exists(pk)"),
            Update(store.access_key(stream_id, user_id), "SET grantedAt = if_not_exists(grantedAt, :now)", values={":now": at}),
        ]
    )
    if codes[:1] == ["ConditionalCheckFailed"]:
        return "stream"
    return "user" if codes else None  # the grant itself has no condition: the profile check failed


# ---------------------------------------------------------------- a user's streams (MemberIndex)


def _member_ids(user_id: str, low: Optional[str], high: Optional[str], limit: int) -> list[str]:
    key, params = "memberPk = :pk", {":pk": f"MEMBER#{user_id}"}
    if low is not None and high is not None:
        key += " AND memberSk BETWEEN :low AND :high"
        params.update({":low": low, ":high": high})
    page, _ = store.query_page(key, params, index="MemberIndex", page_size=limit)
    return [str(item["memberSk"]).rsplit("#", 1)[1] for item in page]


def live_ids(user_id: str, limit: int) -> list[str]:
    """Ids of up to ``limit`` live streams the user is a member of, by start (one Query)."""
    return _member_ids(user_id, "A#", "A$", limit)


def scheduled_ids(user_id: str, low: str, high: str, limit: int) -> list[str]:
    """Ids of up to ``limit`` scheduled streams the user is a member of, planned to start between ``low``
    and ``high`` (ISO times), by planned start (one Query)."""
    return _member_ids(user_id, f"S#{low}", f"S#{high}$", limit)  # '$' sorts after '#<id>'


def member_ids(user_id: str, limit: int) -> list[str]:
    """Ids of up to ``limit`` live or scheduled streams the user is a member of (one Query)."""
    return _member_ids(user_id, None, None, limit)


@dataclass
class Reading:
    """A stream as one caller sees it: the item, the caller's participant and reminder items."""

    stream: Optional[Stream]
    part: Optional[dict[str, Any]] = None
    reminder: Optional[dict[str, Any]] = None


def read(stream_ids: Sequence[str], caller: Optional[str], *, reminders: bool = False) -> list[Reading]:
    """The streams with, for a signed-in caller, their participant and (``reminders``) reminder items,
    in order: one BatchGetItem per 100 keys."""
    keys = [store.stream_key(s) for s in stream_ids]
    if caller is not None:
        keys += [store.part_key(s, caller) for s in stream_ids]
        if reminders:
            keys += [store.reminder_key(s, caller) for s in stream_ids]
    found = {_at(item): item for item in store.batch_get(keys)}
    return [_reading(found, s, caller) for s in stream_ids]


def _reading(found: dict[tuple[str, str], dict[str, Any]], stream_id: str, caller: Optional[str]) -> Reading:
    item = found.get(_at(store.stream_key(stream_id)))
    if caller is None:
        return Reading(Stream.of(item) if item else None)
    part, reminder = found.get(_at(store.part_key(stream_id, caller))), found.get(_at(store.reminder_key(stream_id, caller)))
    return Reading(Stream.of(item) if item else None, part, reminder)


def _at(key: Mapping[str, Any]) -> tuple[str, str]:
    return str(key["pk"]), str(key["sk"])


def pairs(stream_ids: Iterable[str], user_id: str, chunk: int) -> list[tuple[Optional[Stream], Optional[dict[str, Any]]]]:
    """Each stream with ``user_id``'s participant item, ``chunk`` streams per BatchGetItem."""
    ids = list(stream_ids)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for start in range(0, len(ids), chunk):
        part_of = ids[start : start + chunk]
        for item in store.batch_get([*(store.stream_key(i) for i in part_of), *(store.part_key(i, user_id) for i in part_of)]):
            found[_at(item)] = item
    result: list[tuple[Optional[Stream], Optional[dict[str, Any]]]] = []
    for stream_id in ids:
        stream = found.get(_at(store.stream_key(stream_id)))
        result.append((Stream.of(stream) if stream else None, found.get(_at(store.part_key(stream_id, user_id)))))
    return result
