"""DynamoDB access for a stream's audience: participants, uid guards, applied Agora notices, the
newest-viewers window, the counters on the stream item and the viewers' search index.

Keys (the main table; see :mod:`livestream.store` for the rest):

  pk                                  sk                   what
  SEARCH#<id>#<shard>#<prefix>        <joinedAt>#<userId>  a current viewer one of whose words starts with
                                                           ``prefix`` (folded; shard = hash of the user %
                                                           SEARCH_SHARDS); ``terms`` on entries whose prefix is
                                                           PREFIX_CAP long: the viewer's words starting with it
  SEARCHN#<id>#<prefix>               COUNT                how many current viewers match ``prefix`` (``n``), with
                                                           per participant partition the last stream sequence
                                                           counted (``m<n>``)

Both are written only by AudienceSearchFunction from the table's stream, read by a viewers search.
"""

from __future__ import annotations

import hashlib
from typing import Any, Optional

from livestream import store

# A one-letter prefix can take a large share of a join burst (every viewer called Deniz is under "d"):
# each (stream, prefix) is spread over SEARCH_SHARDS partition keys by the viewer, so at 2,000 joins and
# 200 leaves a second all under one prefix a key takes ~550 writes/s (1 WCU each), under DynamoDB's
# 1,000; a search reads every shard.
SEARCH_SHARDS = 4
BATCH_WRITE_LIMIT = 25

Key = tuple[str, str]


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


def write_search_entries(entries: dict[Key, Optional[dict[str, Any]]]) -> int:
    """Put (attributes) or delete (``None``) each search entry: BatchWriteItem, 25 a request, following
    ``UnprocessedItems``. Idempotent: the same final state whatever was written before. Answers the requests."""
    requests = [_write_request(key, attributes) for key, attributes in entries.items()]
    calls = 0
    for start in range(0, len(requests), BATCH_WRITE_LIMIT):
        pending: dict[str, Any] = {store.table(): requests[start : start + BATCH_WRITE_LIMIT]}
        while pending:
            calls += 1
            pending = store.client().batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    return calls


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
