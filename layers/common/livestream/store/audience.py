"""DynamoDB access for a stream's audience, in domain terms: participants and their uid guards, applied
Agora notices, the newest-viewers window, the counters on the stream item, the viewers' profiles and
follow edges, the stream records of participants, and the viewers' search index. The domain modules
(:mod:`livestream.participants`, :mod:`livestream.aggregator`, :mod:`livestream.audience_search`) decide
what changes; this module knows the keys, attribute names and request shapes.

Keys (the main table; see :mod:`livestream.store` for the rest):

  pk                                  sk                   what
  SEARCH#<id>#<shard>#<prefix>        <joinedAt>#<userId>  a current viewer one of whose words starts with
                                                           ``prefix`` (folded; shard = hash of the user %
                                                           SEARCH_SHARDS); ``terms`` on entries whose prefix is
                                                           as long as the index goes: the viewer's words
                                                           starting with it
  SEARCHN#<id>#<prefix>               COUNT                how many current viewers match ``prefix`` (``n``), with
                                                           per participant partition the last stream sequence
                                                           counted (``m<n>``)

Both are written only by AudienceSearchFunction from the table's stream, and read by a viewers search.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional

from livestream import store
from livestream.store import parallel

# A one-letter prefix can take a large share of a join burst (every viewer called Deniz is under "d"):
# each (stream, prefix) is spread over SEARCH_SHARDS partition keys by the viewer, so at 2,000 joins and
# 200 leaves a second all under one prefix a key takes ~550 writes/s (1 WCU each), under DynamoDB's
# 1,000; a search reads every shard.
SEARCH_SHARDS = 4
BATCH_WRITE_LIMIT = 25
# A batch of 1,000 joins is ~900 BatchWriteItem and ~2,300 UpdateItem requests: they go out
# parallel.WORKERS (8) at a time, so a batch takes seconds, not tens of seconds

Key = tuple[str, str]
CountChange = tuple[str, str, str, int, tuple[int, int]]  # stream, prefix, partition, delta, (first, last)


def user_of(sort_key: str) -> str:
    """The user of an audience sort key (``<joinedAt>#<userId>``)."""
    return sort_key.rpartition("#")[2]


def search_shard(user_id: str) -> int:
    return int(hashlib.sha256(user_id.encode()).hexdigest()[:8], 16) % SEARCH_SHARDS


def search_partition(stream_id: str, prefix: str, shard: int) -> str:
    return f"SEARCH#{stream_id}#{shard}#{prefix}"


def search_entry_key(stream_id: str, prefix: str, sort_key: str) -> Key:
    """The search index entry of the viewer with audience sort key ``sort_key`` under ``prefix``."""
    return search_partition(stream_id, prefix, search_shard(user_of(sort_key))), sort_key


def search_count_key(stream_id: str, prefix: str) -> dict[str, str]:
    return {"pk": f"SEARCHN#{stream_id}#{prefix}", "sk": "COUNT"}


def write_search_index(entries: dict[Key, Optional[dict[str, Any]]], counts: list[CountChange]) -> tuple[int, int]:
    """Put (attributes) or delete (``None``) each search entry — BatchWriteItem, 25 a request, following
    ``UnprocessedItems``; idempotent: the same final state whatever was written before — and add each
    count change once (:func:`add_search_count`), all these requests 8 at a time. Answers the
    BatchWriteItem requests made and the counts added."""
    requests = [_write_request(key, attributes) for key, attributes in entries.items()]
    chunks = [requests[start : start + BATCH_WRITE_LIMIT] for start in range(0, len(requests), BATCH_WRITE_LIMIT)]
    writes = [functools.partial(_write_chunk, chunk) for chunk in chunks]
    adds = [functools.partial(_add_once, change) for change in counts]
    done = parallel.run(*writes, *adds)
    return sum(done[: len(writes)]), sum(done[len(writes) :])


def _write_chunk(chunk: list[dict[str, Any]]) -> int:
    return store.follow_unprocessed(
        lambda pending: store.client().batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}, {store.table(): chunk}
    )


def _write_request(key: Key, attributes: Optional[dict[str, Any]]) -> dict[str, Any]:
    pk, sk = key
    if attributes is None:
        return {"DeleteRequest": {"Key": store.serialize({"pk": pk, "sk": sk})}}
    return {"PutRequest": {"Item": store.serialize({"pk": pk, "sk": sk, **attributes})}}


def add_search_count(stream_id: str, prefix: str, partition: str, delta: int, sequences: tuple[int, int]) -> bool:
    """Add ``delta`` to the count of ``prefix``: the net change of participant partition ``partition``'s
    records ``sequences`` (first, last) of a batch. Exactly once: the count keeps the last sequence it
    counted per partition, and a batch (or a part of a retried batch) at or below it changes nothing
    (``False``)."""
    first, last = sequences
    mark = f"m{partition}"
    return (
        store.update_if(
            search_count_key(stream_id, prefix),
            "ADD n :delta SET #mark = :last",
            "attribute_not_exists(#mark) OR #mark < :first",
            {":delta": delta, ":last": last, ":first": first},
            ExpressionAttributeNames={"#mark": mark},
        )
        is not None
    )


def _add_once(change: CountChange) -> int:
    return int(add_search_count(*change))


def search_count(stream_id: str, prefix: str) -> int:
    """The settled number of current viewers matching ``prefix`` (one eventually consistent GetItem)."""
    item = store.get(search_count_key(stream_id, prefix), consistent=False) or {}
    return max(int(item.get("n", 0)), 0)


def search_entries(stream_id: str, prefix: str, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` entries under ``prefix`` (``sort`` = ``<joinedAt>#<userId>``, ``terms``):
    one Query of each shard with ``Limit`` = ``limit``, merged newest first."""
    found: list[dict[str, Any]] = []
    for shard in range(SEARCH_SHARDS):
        response = store.client().query(
            TableName=store.table(),
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=store.values({":pk": search_partition(stream_id, prefix, shard)}),
            ScanIndexForward=False,
            Limit=limit,
        )
        for raw in response.get("Items", []):
            item = store.deserialize(raw) or {}
            found.append({"sort": item["sk"], "terms": item.get("terms") or []})
    found.sort(key=lambda entry: entry["sort"], reverse=True)
    return found[:limit]


# ---------------------------------------------------------------- participants

EXPIRY_ATTRIBUTES = ("expPk", "expSk", "presenceDeadline")
WATCH_ATTRIBUTES = ("audiencePk", "audienceSk", *EXPIRY_ATTRIBUTES)
NOT_WATCHING = "(attribute_not_exists(watching) OR watching = :false)"
NOT_STREAMING = "(attribute_not_exists(streaming) OR streaming = :false)"
CHECK_FAILED = "ConditionalCheckFailed"


class Watch(NamedTuple):
    """A participant starting to watch: when, what the search index finds them by, their presence deadline."""

    joined_at: str
    search_text: str
    deadline: str


@dataclass
class _Update:
    """A conditional UpdateItem being composed: SET and REMOVE clauses, conditions (all must hold), values."""

    sets: list[str] = field(default_factory=list)
    removes: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)

    def expression(self) -> str:
        return "SET " + ", ".join(self.sets) + (" REMOVE " + ", ".join(self.removes) if self.removes else "")

    def request(self, key: dict[str, str]) -> dict[str, Any]:
        expression, condition = self.expression(), " AND ".join(self.conditions)
        used = set(re.findall(r":\w+", f"{expression} {condition}"))  # DynamoDB refuses a value no expression uses
        return {
            "Update": {
                "TableName": store.table(),
                "Key": store.serialize(key),
                "UpdateExpression": expression,
                "ConditionExpression": condition,
                "ExpressionAttributeValues": store.values({k: v for k, v in self.values.items() if k in used}),
            }
        }


def join_reads(stream_id: str, user_id: str) -> list[Optional[dict[str, Any]]]:
    """The stream, the user's participant, access grant and profile: one eventually consistent BatchGetItem."""
    keys = (store.stream_key(stream_id), store.part_key(stream_id, user_id), store.access_key(stream_id, user_id), store.profile_key(user_id))
    return store.get_many(*keys, consistent=False)


def participant(stream_id: str, user_id: str) -> Optional[dict[str, Any]]:
    """The participant item, read consistently."""
    return store.get(store.part_key(stream_id, user_id))


def enter(
    stream_id: str, user_id: str, uid: int, *, claim_uid: bool, watch: Optional[Watch], streaming: bool, ever_watched: bool, at: str, api_at: int
) -> str:
    """Record the participant with ``uid`` as watching (``watch``), streaming since ``at`` (``streaming``) or
    neither (a uid only), conditional on it not doing so already (and on its uid: claimed with its guard
    item in one transaction when ``claim_uid``). ``"entered"``; ``"changed"`` when the participant is not as
    read (a concurrent join, a stale read); ``"uid taken"`` when another user holds ``uid``."""
    update = _Update(
        ["uid = if_not_exists(uid, :uid)", "userId = :me", "firstJoinedAt = if_not_exists(firstJoinedAt, :t)", "apiAt = :api"],
        ["lastClientSeq"],  # a join through the API starts a new client session: its clientSeq starts afresh
        [],
        {":uid": uid, ":me": user_id, ":t": at, ":api": api_at, ":true": True, ":false": False},
    )
    if watch:
        _start_watching(update, stream_id, user_id, watch, ever_watched)
    elif streaming:
        update.sets += ["streaming = :true", "streamingSince = :t"]
        update.conditions.append(NOT_STREAMING)
    update.conditions.append("attribute_not_exists(uid)" if claim_uid else "uid = :uid")
    writes = [_claim_uid(stream_id, uid, user_id)] if claim_uid else []
    codes = store.write([*writes, update.request(store.part_key(stream_id, user_id))])
    if not codes:
        return "entered"
    return "changed" if codes[-1] == CHECK_FAILED else "uid taken"


def _claim_uid(stream_id: str, uid: int, user_id: str) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": store.table(),
            "Item": store.serialize({**store.uid_key(stream_id, uid), "userId": user_id}),
            "ConditionExpression": "attribute_not_exists(pk) OR userId = :me",
            "ExpressionAttributeValues": store.values({":me": user_id}),
        }
    }


def _start_watching(update: _Update, stream_id: str, user_id: str, watch: Watch, ever_watched: bool) -> None:
    """The flags, the AudienceIndex entry, the search text and the deadline of a participant starting to watch."""
    update.sets += ["watching = :true", "everWatched = :true", "joinedAt = :joined", "audiencePk = :apk", "audienceSk = :ask", "searchText = :search"]
    update.values.update(
        {
            ":joined": watch.joined_at,
            ":apk": store.audience_partition(stream_id, store.audience_shard(user_id)),
            ":ask": f"{watch.joined_at}#{user_id}",
            ":search": watch.search_text,
        }
    )
    _set_deadline(update, stream_id, user_id, watch.deadline)
    update.conditions.append(NOT_WATCHING)
    if not ever_watched:
        update.conditions.append("attribute_not_exists(everWatched)")


def _set_deadline(update: _Update, stream_id: str, user_id: str, deadline: str) -> None:
    marker = store.expiry_marker(deadline, stream_id, user_id)
    update.sets += ["expPk = :epk", "expSk = :esk", "presenceDeadline = :deadline"]
    update.values.update({":epk": marker["expPk"], ":esk": marker["expSk"], ":deadline": deadline})


def refresh_deadline(stream_id: str, user_id: str, deadline: str) -> bool:
    """Move a current viewer's presence deadline; ``False`` if they are not watching."""
    update = _Update(values={":true": True})
    _set_deadline(update, stream_id, user_id, deadline)
    return store.update_if(store.part_key(stream_id, user_id), update.expression(), "watching = :true", update.values) is not None


def stop_streaming(stream_id: str, user_id: str, api_at: int) -> None:
    store.client().update_item(
        TableName=store.table(),
        Key=store.serialize(store.part_key(stream_id, user_id)),
        UpdateExpression="SET streaming = :false, apiAt = :api",
        ExpressionAttributeValues=store.values({":false": False, ":api": api_at}),
    )


def stop_watching(stream_id: str, user_id: str, *, api_at: Optional[int] = None, deadline_seen: Optional[str] = None) -> bool:
    """The viewer stops watching (out of the AudienceIndex and the ExpiryIndex). ``api_at``: a leave through
    the API (its time); ``deadline_seen``: only if the ExpiryIndex entry is still the one seen (the sweep).
    ``False`` when the participant no longer qualifies."""
    update = _Update(["watching = :false"], list(WATCH_ATTRIBUTES), ["watching = :true"], {":false": False, ":true": True})
    if api_at is not None:
        update.sets.insert(0, "apiAt = :api")
        update.values[":api"] = api_at
    if deadline_seen is not None:
        update.conditions.append("(expSk = :seen)")
        update.values[":seen"] = deadline_seen
    return not store.write([update.request(store.part_key(stream_id, user_id))])


@dataclass(frozen=True)
class Settlement:
    """Where a channel event takes a participant. ``watching`` / ``streaming``: (was, is). ``seq``: the
    client event's ``clientSeq`` (``None``: channel-wide); ``ts``: when it happened (Unix s). ``watch``:
    when starting to watch; ``deadline``: the confirmed deadline of a viewer still watching; ``since``:
    when streaming starts; ``notice``: (notice id, expiry) recorded with it."""

    watching: tuple[bool, bool]
    streaming: tuple[bool, bool]
    seq: Optional[int]
    ts: int
    watch: Optional[Watch]
    ever_watched: bool
    deadline: str
    since: str
    notice: Optional[tuple[str, int]]


def settle(stream_id: str, user_id: str, settlement: Settlement) -> str:
    """Apply a channel event to the participant, conditional on it being as read and the event newer than
    what it reflects (``apiAt``, ``lastClientSeq`` / ``lastEventTs``), with its notice in one transaction.
    ``"applied"``, ``"duplicate"`` (the notice was already recorded) or ``"changed"``."""
    update = _Update(
        ["lastEventTs = :ts"],
        [],
        ["attribute_exists(uid)", "(attribute_not_exists(apiAt) OR apiAt < :ts)"],
        {":true": True, ":false": False, ":ts": settlement.ts},
    )
    if settlement.seq is None:
        update.conditions.append("(attribute_not_exists(lastEventTs) OR lastEventTs <= :ts)")
    else:
        update.sets.append("lastClientSeq = :seq")
        update.values[":seq"] = settlement.seq
        update.conditions.append("(attribute_not_exists(lastClientSeq) OR lastClientSeq < :seq)")
    _settle_watching(update, stream_id, user_id, settlement)
    _settle_streaming(update, settlement)
    writes = [update.request(store.part_key(stream_id, user_id))]
    if settlement.notice:
        writes.append(_notice_put(*settlement.notice))
    codes = store.write(writes)
    if not codes:
        return "applied"
    return "duplicate" if settlement.notice and codes[-1] == CHECK_FAILED else "changed"


def _settle_watching(update: _Update, stream_id: str, user_id: str, settlement: Settlement) -> None:
    was, now = settlement.watching
    if now and not was and settlement.watch:
        _start_watching(update, stream_id, user_id, settlement.watch, settlement.ever_watched)
    elif was and not now:
        update.sets.append("watching = :false")
        update.removes += WATCH_ATTRIBUTES
        update.conditions.append("watching = :true")
    elif now and was:  # still watching: the event confirms the viewer
        _set_deadline(update, stream_id, user_id, settlement.deadline)
        update.conditions.append("watching = :true")
    else:
        update.conditions.append(NOT_WATCHING)


def _settle_streaming(update: _Update, settlement: Settlement) -> None:
    was, now = settlement.streaming
    if now and not was:
        update.sets += ["streaming = :true", "streamingSince = :since"]
        update.values[":since"] = settlement.since
        update.conditions.append(NOT_STREAMING)
    elif was and not now:
        update.sets.append("streaming = :false")
        update.conditions.append("streaming = :true")
    else:
        update.conditions.append("streaming = :true" if now else NOT_STREAMING)


def _notice_put(notice_id: str, expires_at: int) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": store.table(),
            "Item": store.serialize({**store.notice_key(notice_id), "expiresAt": expires_at}),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def claim_notice(notice_id: str, expires_at: int) -> bool:
    """Record a notification as applied (expiring by TTL at ``expires_at``); ``False`` if it already was."""
    return not store.write([_notice_put(notice_id, expires_at)])


def release_notice(notice_id: str) -> None:
    store.client().delete_item(TableName=store.table(), Key=store.serialize(store.notice_key(notice_id)))


# ---------------------------------------------------------------- viewers


def window(stream_id: str, *, consistent: bool) -> list[str]:
    """The newest-viewers window (``<joinedAt>#<userId>``, newest first): one GetItem."""
    return list((store.get(store.window_key(stream_id), consistent=consistent) or {}).get("entries") or [])


def profiles_and_follows(caller: str, users: Iterable[str]) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """The users' synced profiles and which of them ``caller`` follows: BatchGetItem, 100 keys a request."""
    wanted = list(users)
    keys = [store.profile_key(u) for u in wanted] + [store.follow_key(caller, u) for u in wanted]
    profiles: dict[str, dict[str, Any]] = {}
    follows: set[str] = set()
    follow_pk = store.follow_key(caller, "")["pk"]
    for item in store.batch_get(keys):
        if item["sk"] == store.PROFILE:
            profiles[item["pk"].removeprefix("USER#")] = item
        elif item["pk"] == follow_pk:
            follows.add(item["sk"].removeprefix("FOLLOWS#"))
    return profiles, follows


# ---------------------------------------------------------------- the counters (the aggregator's)

MARKS = "aggMarks"
VERSION = "aggVersion"


@dataclass(frozen=True)
class Counters:
    """A stream's audience counters and what counting needs: its state and end, the sequence marks of the
    participant partitions counted, and the version (optimistic lock; ``None`` before the first count)."""

    status: str
    ended_at: str
    current: int
    peak: int
    cumulative: int
    marks: dict[str, int]
    version: Optional[int]


def counters(stream_id: str) -> Optional[Counters]:
    """The stream's counters (one consistent GetItem of the stream item); ``None`` if there is no stream."""
    item = store.get(store.stream_key(stream_id))
    if item is None:
        return None
    return Counters(
        status=str(item.get("status")),
        ended_at=str(item.get("endedAt") or ""),
        current=int(item.get("audienceCount", 0)),
        peak=int(item.get("peakAudience", 0)),
        cumulative=int(item.get("cumulativeAudience", 0)),
        marks={k: int(v) for k, v in (item.get(MARKS) or {}).items()},
        version=None if item.get(VERSION) is None else int(item[VERSION]),
    )


def save_counters(stream_id: str, read: Counters, counted: Counters, entries: Optional[list[str]]) -> bool:
    """Write ``counted`` over ``read`` (conditional on the stream's status and version being as read) and,
    when given, the newest-viewers window ``entries``: one transaction (one write without the window).
    ``False`` when another batch changed the counters meanwhile."""
    lock = f"{VERSION} = :version" if read.version is not None else f"attribute_not_exists({VERSION})"
    values = {
        ":current": counted.current,
        ":peak": counted.peak,
        ":cumulative": counted.cumulative,
        ":marks": {k: str(v) for k, v in counted.marks.items()},
        ":next": (read.version or 0) + 1,
        ":status": read.status,
        **({":version": read.version} if read.version is not None else {}),
    }
    update = {
        "Update": {
            "TableName": store.table(),
            "Key": store.serialize(store.stream_key(stream_id)),
            "UpdateExpression": (
                f"SET audienceCount = :current, peakAudience = :peak, cumulativeAudience = :cumulative, {MARKS} = :marks, {VERSION} = :next"
            ),
            "ConditionExpression": f"#status = :status AND {lock}",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": store.values(values),
        }
    }
    writes = [update]
    if entries is not None:
        writes.append({"Put": {"TableName": store.table(), "Item": store.serialize({**store.window_key(stream_id), "entries": entries})}})
    return not store.write(writes)


def newest_viewers(stream_id: str, below: Optional[str], wanted: int) -> list[str]:
    """Up to ``wanted`` viewers of each AudienceIndex shard (``<joinedAt>#<userId>``, newest first, older
    than ``below`` when given): one bounded Query per shard."""
    found: list[str] = []
    for partition in store.audience_partitions(stream_id):
        found += store.audience_entries(partition, below, wanted)
    return found


# ---------------------------------------------------------------- participants' stream records


class PartState(NamedTuple):
    """A participant image as the stream carries it (what counting and the search index need)."""

    watching: bool
    ever_watched: bool
    joined_at: Optional[str]
    sort_key: Optional[str]  # ``<joinedAt>#<userId>`` while watching
    search_text: str


@dataclass(frozen=True)
class PartRecord:
    """A participant's stream record: its stream, participant partition (``P<n>``; its records arrive in
    order), user, sequence number, images before and after, and when it was written (Unix s, whole)."""

    stream_id: str
    partition: str
    user: str
    sequence: int
    old: PartState
    new: PartState
    at: float


def part_record(record: dict[str, Any]) -> Optional[PartRecord]:
    """The participant change a stream record (Lambda's JSON) carries; ``None`` for any other item."""
    ddb = record.get("dynamodb") or {}
    keys = store.deserialize(ddb.get("Keys")) or {}
    pk, sk = str(keys.get("pk", "")), str(keys.get("sk", ""))
    if not pk.startswith("STREAM#") or not sk.startswith("PART#"):
        return None
    old, new = _part_state(ddb.get("OldImage")), _part_state(ddb.get("NewImage"))
    at = float(ddb.get("ApproximateCreationDateTime") or 0)
    return PartRecord(store.stream_id_of(pk), pk.rsplit("#", 1)[1], sk.removeprefix("PART#"), int(ddb["SequenceNumber"]), old, new, at)


def _part_state(image: Optional[dict[str, Any]]) -> PartState:
    item = store.deserialize(image) or {}
    watching = bool(item.get("watching"))
    sort_key = str(item["audienceSk"]) if watching and item.get("audienceSk") else None
    joined_at = str(item["joinedAt"]) if item.get("joinedAt") else None
    return PartState(watching, bool(item.get("everWatched")), joined_at, sort_key, str(item.get("searchText") or ""))
