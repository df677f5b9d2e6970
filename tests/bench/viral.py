"""Benchmark: one stream going viral — 2,000 audience joins a second for 60 s, plus leaves and viewer-list
reads — against DynamoDB's per-partition-key limits (1,000 write units, 3,000 read units a second).

How (simulated time, not wall-clock; ``python -m tests.bench.viral``, ``make bench-viral``):

1. **Calibration, the real code on moto.** A stream is created and ``CALIBRATION_USERS`` users join it
   through ``livestream.participants`` (first joins, repeat joins, leaves), metered by a capacity model
   wrapped around the DynamoDB client: every call's consumed units per partition key — read units from the
   sizes of the items read (4 KB steps, halved for eventually consistent reads and index queries), write
   units from the sizes of the item before and after the write (1 KB steps, doubled in a transaction), for
   the base table and for every GSI the item is (or was) in, with the projected size. Each key is labelled by
   its role for the joining user (the stream item, the user's participant partition, the uid guard's
   partition, the user's AudienceIndex shard, its ExpiryIndex bucket, the user's own items). The
   aggregator (``livestream.aggregator``) then counts the calibration records from the table's stream, so the
   stream item's real size (with its sequence marks) and the wall time of a batch are measured too.
2. **Replay, 60 simulated seconds.** 2,000 new users join each second (plus ``LEAVES`` leaves and ``REJOINS``
   repeat joins a second, viewer-list reads: page 1, page 50 and a search, ``READS`` of each a second): each
   request charges the units its calibrated request type consumed, on the keys the real key functions give
   for its user (``store.part_key``, ``store.uid_key`` with ``agora.uid_candidate``, the AudienceIndex shard,
   ``store.expiry_marker`` for its deadline). Viewer-list reads (page 1, page 50, a search at page 1 and at
   page 50) charge what ``participants.viewers`` reads for the audience at that moment: a page the
   newest-viewers window (one item, whatever the page); a search its count and ``page × limit`` entries of
   each shard of its prefix key (every viewer is a Deniz: ``den`` matches the whole audience).
   The aggregator runs every second (the mapping's 1 s batching window) in batches of 1,000 records, each
   consistent GetItems of the stream item and the newest-viewers window and one transaction writing both
   (half of them assumed to lose the optimistic lock once to another stream shard's batch and read again).
   The search index function (calibrated on the same records through ``livestream.audience_search``) takes
   the same records a second after they were written: each join or leave puts or deletes one entry per
   prefix of the viewer's words (on the keys the real key functions give) and each batch of 1,000 adds one
   count per (prefix, participant partition). A (key, second) above its limit throttles every request (or
   function batch) that touched it (each then pays an SDK retry, ``THROTTLE_RETRY_MS``).

Prints the busiest key's write and read units per second, throttled requests, the p99 added latency, how
long counts take to settle (record written → counted), the cost per 1,000 joins, and last:
``viral: max WCU/s per key <N>, max RCU/s per key <M>, throttled <T>, settle <S> s``.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

JOINS_PER_SECOND = int(os.environ.get("BENCH_JOINS_PER_SECOND", "2000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "60"))
LEAVES = int(os.environ.get("BENCH_LEAVES_PER_SECOND", "200"))
REJOINS = int(os.environ.get("BENCH_REJOINS_PER_SECOND", "100"))
READS = int(os.environ.get("BENCH_VIEWER_READS_PER_SECOND", "5"))
CALIBRATION_USERS = int(os.environ.get("BENCH_CALIBRATION_USERS", "120"))
WCU_LIMIT, RCU_LIMIT = 1000, 3000
# what the replay sends each method of the API a second: the stage's throttles must take it before any DynamoDB
# key is reached (tests/integration/test_template.py holds template.yaml's limits to it, with headroom)
REQUESTS_PER_METHOD = {
    ("/api/v1/live-stream/join-as-audience", "POST"): JOINS_PER_SECOND + REJOINS,
    ("/api/v1/live-stream/{id}/leave", "POST"): LEAVES,
    ("/api/v1/live-stream/{id}/viewers", "GET"): 4 * READS,  # page 1, page 50, a search at each
}
BATCH_SIZE, BATCHING_WINDOW_S = 1000, 1.0
THROTTLE_RETRY_MS = 50

# ---------------------------------------------------------------- the capacity model


def _value_size(value: dict[str, Any]) -> int:
    """Size of one attribute value in DynamoDB's accounting (strings/binary by length, numbers ~1 byte per
    two digits + 1, containers 3 bytes + their elements + 1 per element)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "B":
        return len(inner)
    if kind == "N":
        return len(str(inner).lstrip("-").replace(".", "")) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: v}) for v in inner)
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_size(v) + 1 for k, v in inner.items())
    return 1


def item_size(item: dict[str, Any] | None) -> int:
    return sum(len(k.encode()) + _value_size(v) for k, v in (item or {}).items())


class Meter:
    """Wraps the layer's DynamoDB client: per call, the units consumed on each (table or index, partition key)."""

    def __init__(self, client: Any, table: str, indexes: dict[str, tuple[str, list[str] | None]]) -> None:
        self.client, self.table, self.indexes = client, table, indexes  # index → (its pk attribute, projected attributes or None for ALL)
        self.real = {
            name: getattr(client, name)
            for name in ("get_item", "batch_get_item", "query", "update_item", "put_item", "delete_item", "transact_write_items", "batch_write_item")
        }
        self.charges: list[tuple[str, str, str, float]] = []  # (read|write, where, pk, units)

    def install(self, monkeypatch: Any) -> None:
        for name in self.real:
            monkeypatch.setattr(self.client, name, getattr(self, f"_{name}"))

    def take(self) -> list[tuple[str, str, str, float]]:
        taken, self.charges = self.charges, []
        return taken

    def _raw(self, key: dict[str, Any]) -> dict[str, Any] | None:
        return self.real["get_item"](TableName=self.table, Key=key, ConsistentRead=True).get("Item")

    def _read(self, where: str, pk: str, size: int, consistent: bool) -> None:
        self.charges.append(("read", where, pk, max(1, math.ceil(size / 4096)) * (1 if consistent else 0.5)))

    def _write(self, key: dict[str, Any], call: Any, factor: int = 1) -> Any:
        before = self._raw(key)
        try:
            return call()
        finally:
            after = self._raw(key)
            if before != after or after is None:
                self.charges.append(("write", "table", key["pk"]["S"], factor * max(1, math.ceil(max(item_size(before), item_size(after)) / 1024))))
                for index, (pk_name, projected) in self.indexes.items():
                    for image in {id(i): i for i in (before, after) if i and pk_name in i}.values():
                        keep = image if projected is None else {k: v for k, v in image.items() if k in projected}
                        self.charges.append(("write", index, image[pk_name]["S"], factor * max(1, math.ceil(item_size(keep) / 1024))))

    def _get_item(self, **request: Any) -> Any:
        response = self.real["get_item"](**request)
        self._read("table", request["Key"]["pk"]["S"], item_size(response.get("Item")), bool(request.get("ConsistentRead")))
        return response

    def _batch_get_item(self, **request: Any) -> Any:
        response = self.real["batch_get_item"](**request)
        for table, asked in request["RequestItems"].items():
            found = {(i["pk"]["S"], i["sk"]["S"]): i for i in response.get("Responses", {}).get(table, [])}
            for key in asked["Keys"]:
                item = found.get((key["pk"]["S"], key["sk"]["S"]))
                self._read("table", key["pk"]["S"], item_size(item), bool(asked.get("ConsistentRead")))
        return response

    def _query(self, **request: Any) -> Any:
        response = self.real["query"](**request)
        where = request.get("IndexName", "table")
        pk = next(iter(request["ExpressionAttributeValues"].values()))["S"]
        size = sum(item_size(i) for i in response.get("Items", []))
        self._read(where, pk, size, bool(request.get("ConsistentRead")))
        return response

    def _update_item(self, **request: Any) -> Any:
        return self._write(request["Key"], lambda: self.real["update_item"](**request))

    def _put_item(self, **request: Any) -> Any:
        return self._write({k: request["Item"][k] for k in ("pk", "sk")}, lambda: self.real["put_item"](**request))

    def _delete_item(self, **request: Any) -> Any:
        return self._write(request["Key"], lambda: self.real["delete_item"](**request))

    def _transact_write_items(self, **request: Any) -> Any:
        keys = []
        for entry in request["TransactItems"]:
            ((_, body),) = entry.items()
            keys.append(body["Key"] if "Key" in body else {k: body["Item"][k] for k in ("pk", "sk")})
        befores = [self._raw(k) for k in keys]
        try:
            return self.real["transact_write_items"](**request)
        finally:
            for key, before in zip(keys, befores, strict=True):
                self._write_known(key, before, factor=2)

    def _batch_write_item(self, **request: Any) -> Any:
        keys = []
        for requests in request["RequestItems"].values():
            for entry in requests:
                ((kind, body),) = entry.items()
                keys.append(body["Key"] if kind == "DeleteRequest" else {k: body["Item"][k] for k in ("pk", "sk")})
        befores = [self._raw(k) for k in keys]
        try:
            return self.real["batch_write_item"](**request)
        finally:
            for key, before in zip(keys, befores, strict=True):
                self._write_known(key, before, factor=1)

    def _write_known(self, key: dict[str, Any], before: Any, factor: int) -> None:
        after = self._raw(key)
        if before == after and after is not None:
            return
        self.charges.append(("write", "table", key["pk"]["S"], factor * max(1, math.ceil(max(item_size(before), item_size(after)) / 1024))))
        for index, (pk_name, projected) in self.indexes.items():
            for image in {id(i): i for i in (before, after) if i and pk_name in i}.values():
                keep = image if projected is None else {k: v for k, v in image.items() if k in projected}
                self.charges.append(("write", index, image[pk_name]["S"], factor * max(1, math.ceil(item_size(keep) / 1024))))


# ---------------------------------------------------------------- roles: a key as what it is to the joining user


def role_of(where: str, pk: str, stream_id: str, user: str) -> str:
    from livestream import store

    if pk == store.stream_key(stream_id)["pk"]:
        return "stream item"
    if pk.startswith(f"USER#{user}"):
        return "the user's items"
    if where == "AudienceIndex":
        return "AudienceIndex shard"
    if where == "ExpiryIndex":
        return "ExpiryIndex bucket"
    if pk == store.part_key(stream_id, user)["pk"]:
        return "participant partition"
    if pk.startswith(f"STREAM#{stream_id}#P"):
        return "uid guard partition"
    return f"{where}:{pk}"


def concrete(role: str, where: str, stream_id: str, user: str, at: datetime) -> tuple[str, str]:
    from livestream import agora, participants, store

    if role == "stream item":
        return where, store.stream_key(stream_id)["pk"]
    if role == "the user's items":
        return where, f"USER#{user}"
    if role == "participant partition":
        return where, store.part_key(stream_id, user)["pk"]
    if role == "uid guard partition":
        return where, store.uid_key(stream_id, agora.uid_candidate(stream_id, user, 0))["pk"]
    if role == "AudienceIndex shard":
        return where, store.audience_partition(stream_id, store.audience_shard(user))
    if role == "ExpiryIndex bucket":
        return where, store.expiry_marker(participants.presence_deadline(at), stream_id, user)["expPk"]
    return where, role


def profile(charges: list[tuple[str, str, str, float]], stream_id: str, user: str) -> list[tuple[str, str, str, float]]:
    return [(kind, where, role_of(where, pk, stream_id, user), units) for kind, where, pk, units in charges]


# ---------------------------------------------------------------- the search index, as AudienceSearchFunction writes it

SEARCH = "den"  # every viewer of the run is a Deniz Yılmaz: a prefix matching the whole audience


def index_writes(
    usage: dict[tuple[str, str, str, int], float], stream_id: str, user: str, second: int, units: float
) -> tuple[list[str], list[str], str]:
    """Charge the search index entries a join or leave of ``user`` puts or deletes (one per prefix of their
    words, on the keys the real key functions give). Answers the entry keys, the prefixes and the user's
    participant partition."""
    from livestream import audience_search, store
    from livestream.store import audience

    text = audience_search.search_text({"name": "Deniz", "surname": "Yılmaz", "username": f"u{user[-6:]}"})
    prefixes = list(audience_search.prefixes(text))
    shard = audience.search_shard(user)
    keys = [audience.search_partition(stream_id, prefix, shard) for prefix in prefixes]
    for key in keys:
        usage[("write", "table", key, second)] += units
    return keys, prefixes, store.part_key(stream_id, user)["pk"].rsplit("#", 1)[1]


def count_updates(
    usage: dict[tuple[str, str, str, int], float], stream_id: str, records: list[tuple[list[str], list[str], str]], second: int, units: float
) -> set[tuple[str, str, str, int]]:
    """Charge a batch's count updates: one per (prefix, participant partition) among its records."""
    from livestream.store import audience

    keys = set()
    for prefix in (prefix for prefix, _ in {(p, partition) for _, prefixes, partition in records for p in prefixes}):
        key = audience.search_count_key(stream_id, prefix)["pk"]
        usage[("write", "table", key, second)] += units
        keys.add(("write", "table", key, second))
    return keys


# ---------------------------------------------------------------- the run


def gateway_check() -> None:
    """The stage's throttles (template.yaml, as the local gateway applies them) against the modelled rates:
    what API Gateway would refuse (429) before any request reaches the table."""
    from local.cfn import Template
    from local.routing import Router
    from local.throttling import Throttle

    template = Template.load()
    limits = Throttle.from_template(template, Router.from_template(template).methods()).limits
    for (resource, method), rate in REQUESTS_PER_METHOD.items():
        limit = limits[(resource, method)]
        verdict = "taken" if rate <= limit.rate else f"the gateway refuses {rate - limit.rate:g}/s of it (429)"
        print(f"stage throttle on {method} {resource}: {limit.rate:g}/s, burst {limit.burst}; modelled {rate}/s: {verdict}")


def main() -> None:
    os.environ.update(
        AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
        POWERTOOLS_METRICS_DISABLED="true", POWERTOOLS_METRICS_NAMESPACE="Bench", POWERTOOLS_SERVICE_NAME="bench", POWERTOOLS_LOG_LEVEL="WARNING",
    )  # fmt: skip
    from moto import mock_aws

    with mock_aws():
        import boto3
        import pytest

        from livestream import aggregator, audience_search, participants, store
        from livestream.store import audience
        from tests.support import Api, AwsResources, resources_of

        monkeypatch = pytest.MonkeyPatch()
        aws = AwsResources.create(monkeypatch)
        api = Api(aws)
        host = "a" * 24
        api.add_user(host)
        stream_id = api.create(host, title="Going viral").data["id"]
        table = resources_of("AWS::DynamoDB::Table")["MainTable"]["Properties"]
        indexes = {}
        for gsi in table["GlobalSecondaryIndexes"]:
            pk_name = gsi["KeySchema"][0]["AttributeName"]
            kind = gsi["Projection"]["ProjectionType"]
            keys = ["pk", "sk", *(k["AttributeName"] for k in gsi["KeySchema"])]
            indexes[gsi["IndexName"]] = (pk_name, None if kind == "ALL" else keys + gsi["Projection"].get("NonKeyAttributes", []))
        meter = Meter(store.client(), store.table(), indexes)

        # 1. calibration: the real request code, metered
        users = [f"{0xC0000000 + n:024x}" for n in range(CALIBRATION_USERS)]
        for user in users:
            api.add_user(user, name="Deniz", surname="Yılmaz", username=f"u{user[-6:]}")
        meter.install(monkeypatch)
        started = time.perf_counter()
        calibrated: dict[str, list[list[tuple[str, str, str, float]]]] = defaultdict(list)
        for user in users:
            participants.join(stream_id, user, "audience")
            calibrated["join"].append(profile(meter.take(), stream_id, user))
        for user in users[: CALIBRATION_USERS // 4]:
            participants.join(stream_id, user, "audience")
            calibrated["repeat join"].append(profile(meter.take(), stream_id, user))
            participants.leave(stream_id, user)
            calibrated["leave"].append(profile(meter.take(), stream_id, user))
        request_seconds = (time.perf_counter() - started) / (CALIBRATION_USERS * 1.5)

        # the aggregator on the calibration records (one batch), as the mapping delivers them
        mapping = aws.mapping("AudienceCountsFunction")
        records: list[dict[str, Any]] = []
        mapping.invoke = lambda name, event: (records.extend(event["Records"]), ("ok", None))[1]
        mapping.drain()
        meter.take()
        started = time.perf_counter()
        aggregator.apply(records)
        batch_seconds = (time.perf_counter() - started) * BATCH_SIZE / max(len(records), 1)
        aggregate_charges = meter.take()
        # the search index function on the same records
        started = time.perf_counter()
        search_summary = audience_search.apply(records)
        search_batch_seconds = (time.perf_counter() - started) * BATCH_SIZE / max(len(records), 1)
        search_charges = meter.take()
        found, matches = audience_search.search(stream_id, SEARCH, 1000)
        search_ok = matches == len(found) == CALIBRATION_USERS - CALIBRATION_USERS // 4
        entry_units = max(u for k, _, pk, u in search_charges if k == "write" and pk.startswith("SEARCH#"))
        count_units = max(u for k, _, pk, u in search_charges if k == "write" and pk.startswith("SEARCHN#"))
        entry_item = store.client().query(
            TableName=store.table(), KeyConditionExpression="pk = :pk", Limit=1,
            ExpressionAttributeValues=store.values({":pk": audience.search_partition(stream_id, SEARCH, audience.search_shard(users[-1]))}),
        )["Items"]  # fmt: skip
        entry_size = item_size(entry_item[0]) if entry_item else 80
        meta = store.get(store.stream_key(stream_id)) or {}
        settled_ok = (meta.get("audienceCount"), meta.get("cumulativeAudience")) == (CALIBRATION_USERS - CALIBRATION_USERS // 4, CALIBRATION_USERS)
        meta_size = item_size(store.serialize(meta))
        index_item = store.client().query(
            TableName=store.table(), IndexName="AudienceIndex", KeyConditionExpression="audiencePk = :pk",
            ExpressionAttributeValues=store.values({":pk": store.audience_partition(stream_id, store.audience_shard(users[-1]))}), Limit=1,
        )["Items"]  # fmt: skip
        index_item_size = item_size(index_item[0]) if index_item else 100
        profile_size = item_size(store.serialize(store.get(store.profile_key(users[0])) or {}))
        window = (store.get(store.window_key(stream_id)) or {}).get("entries") or ["x" * 49]
        window_size = 30 + aggregator.WINDOW_KEEP * (sum(len(e) + 1 for e in window) // len(window))  # full, at viral scale
        monkeypatch.undo()

        # 2. replay: 60 simulated seconds
        usage: dict[tuple[str, str, str, int], float] = defaultdict(float)  # (read|write, where, key, second) → units
        touched: list[set[tuple[str, str, str, int]]] = []

        def charge(request_charges: list[tuple[str, str, str, float]], user: str, at: datetime) -> None:
            second = int((at - t0).total_seconds())
            keys = set()
            for kind, where, role, units in request_charges:
                place, key = concrete(role, where, stream_id, user, at)
                usage[(kind, place, key, second)] += units
                keys.add((kind, place, key, second))
            touched.append(keys)

        def costliest(kind: str) -> list[tuple[str, str, str, float]]:
            return max(calibrated[kind], key=lambda c: sum(u for *_, u in c))

        join_cost, repeat_cost, leave_cost = costliest("join"), costliest("repeat join"), costliest("leave")
        t0 = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
        audience_per_shard = [0] * store.AUDIENCE_SHARDS
        matches_per_shard = [0] * audience.SEARCH_SHARDS  # every viewer is a Deniz: ``den`` matches them all
        index_records: list[tuple[list[str], list[str], str]] = []  # this second's records for the search index
        leaves_total = 0
        joined: list[str] = []
        written: list[float] = []  # when each counted record was written (s)
        settle_lags: list[float] = []
        next_user = 0
        for second in range(SECONDS):
            for n in range(JOINS_PER_SECOND):
                at = t0 + timedelta(seconds=second + n / JOINS_PER_SECOND)
                user = f"{next_user:024x}"
                next_user += 1
                charge(join_cost, user, at)
                joined.append(user)
                audience_per_shard[store.audience_shard(user)] += 1
                matches_per_shard[audience.search_shard(user)] += 1
                index_records.append(index_writes(usage, stream_id, user, second + 1, entry_units))
                written.append(second + n / JOINS_PER_SECOND)
            for n in range(min(REJOINS, len(joined))):
                at = t0 + timedelta(seconds=second + n / max(REJOINS, 1))
                charge(repeat_cost, joined[(second * 7919 + n * 104729) % len(joined)], at)
            leaves_total += min(LEAVES, len(joined) // 2)
            for n in range(min(LEAVES, len(joined) // 2)):
                at = t0 + timedelta(seconds=second + n / max(LEAVES, 1))
                user = joined.pop(0)  # the earliest viewers drift off
                charge(leave_cost, user, at)
                audience_per_shard[store.audience_shard(user)] -= 1
                matches_per_shard[audience.search_shard(user)] -= 1
                index_records.append(index_writes(usage, stream_id, user, second + 1, entry_units))
                written.append(second + n / max(LEAVES, 1))
            # viewer-list reads: the stream item + per AudienceIndex shard what the request reads + profiles
            for n in range(READS):
                at = t0 + timedelta(seconds=second + n / READS)
                for page, search in ((1, False), (50, False), (1, True), (50, True)):  # pages read the window; searches the index
                    reads = [("read", "table", "stream item", 1)]  # with the caller's participant, consistent
                    if not search:
                        reads.append(("read", "table", store.window_key(stream_id)["pk"], 0.5 * max(1, math.ceil(window_size / 4096))))
                    else:  # the count, then page × limit entries of each shard of the prefix key
                        reads.append(("read", "table", audience.search_count_key(stream_id, SEARCH)["pk"], 0.5))
                        for shard, size in enumerate(matches_per_shard):
                            units = 0.5 * max(1, math.ceil(min(size, page * 20) * entry_size / 4096))
                            reads.append(("read", "table", audience.search_partition(stream_id, SEARCH, shard), units))
                    reads.append(("read", "table", "the user's items", 20 * 0.5 * max(1, math.ceil(profile_size / 4096))))
                    charge(reads, f"{0xF0000000 + n:024x}", at)
            # the search index function: this second's records in batches of BATCH_SIZE, each adding one count
            # per (prefix, participant partition) it changed
            for start in range(0, len(index_records), BATCH_SIZE):
                batch_keys = count_updates(usage, stream_id, index_records[start : start + BATCH_SIZE], second + 1, count_units)
                entry_keys = {("write", "table", key, second + 1) for keys, _, _ in index_records[start : start + BATCH_SIZE] for key in keys}
                touched.append(batch_keys | entry_keys)
            index_records.clear()
            # the aggregator: the records written this second, counted after the batching window
            records_now = JOINS_PER_SECOND + min(LEAVES, len(joined))
            batches = math.ceil(records_now / BATCH_SIZE)
            get_units = max(1, math.ceil(meta_size / 4096))
            put_units = max(1, math.ceil(meta_size / 1024))
            window_pk = store.window_key(stream_id)["pk"]
            for batch in range(batches):
                redo = 2 if batch % 2 else 1  # half the batches lose the optimistic lock once
                usage[("read", "table", store.stream_key(stream_id)["pk"], second + 1)] += get_units * redo
                usage[("read", "table", window_pk, second + 1)] += max(1, math.ceil(window_size / 4096)) * redo
                # one transaction (doubled): the counters, and the window when viewers came or went
                usage[("write", "table", store.stream_key(stream_id)["pk"], second + 1)] += 2 * put_units
                usage[("write", "table", window_pk, second + 1)] += 2 * max(1, math.ceil(window_size / 1024))
                counted_at = second + BATCHING_WINDOW_S + batch_seconds * (batch + 1) * redo
                settle_lags.append(counted_at - second)
        throttled_keys = {k for k, units in usage.items() if units > (WCU_LIMIT if k[0] == "write" else RCU_LIMIT)}
        throttled = sum(1 for keys in touched if keys & throttled_keys)
        added = sorted(THROTTLE_RETRY_MS if keys & throttled_keys else 0 for keys in touched)
        p99 = added[int(len(added) * 0.99)] if added else 0

        def busiest(kind: str) -> tuple[float, str]:
            per_key = [(units, f"{where} {key}") for (k, where, key, _), units in usage.items() if k == kind]
            return max(per_key)

        max_w, w_key = busiest("write")
        max_r, r_key = busiest("read")
        settle = max(settle_lags) if settle_lags else 0.0
        join_w = sum(u for k, *_, u in join_cost if k == "write")
        join_r = sum(u for k, *_, u in join_cost if k == "read")
        leave_w = sum(u for k, *_, u in leave_cost if k == "write")
        aggregate_w = sum(u for k, *_, u in aggregate_charges if k == "write")
        aggregate_r = sum(u for k, *_, u in aggregate_charges if k == "read")

        print(f"calibration: {CALIBRATION_USERS} joins, {CALIBRATION_USERS // 4} repeat joins and leaves through the real code on moto "
              f"({request_seconds * 1000:.0f} ms a request on moto); aggregator counted them exactly: {settled_ok}")  # fmt: skip
        print("a first join consumes:")
        for kind, where, role, units in sorted(join_cost):
            print(f"  {kind:5} {where:14} {role:24} {units:g}")
        print(f"a leave: {leave_w:g} WCU; a repeat join: {sum(u for k, *_, u in repeat_cost if k == 'write'):g} WCU; "
              f"the stream item is {meta_size} bytes, the full viewers window {window_size}; an AudienceIndex entry {index_item_size} bytes")  # fmt: skip
        print(f"replay: {SECONDS} s x {JOINS_PER_SECOND} joins/s, {LEAVES} leaves/s, {REJOINS} repeat joins/s, "
              f"{READS}/s each of viewers page 1, page 50 and search; final audience {len(joined)}")  # fmt: skip
        gateway_check()
        print(f"busiest key, writes: {max_w:g} WCU/s ({w_key})")
        print(f"busiest key, reads:  {max_r:g} RCU/s ({r_key})")
        print(f"throttled requests: {throttled} of {len(touched)}; p99 added latency {p99} ms")
        print(f"counts settle: batching window {BATCHING_WINDOW_S:g} s + {batch_seconds:.2f} s a {BATCH_SIZE}-record batch (moto) -> {settle:.1f} s")
        batch_w = 2 * (math.ceil(meta_size / 1024) + math.ceil(window_size / 1024))  # a full batch's transaction at viral scale
        batch_r = math.ceil(meta_size / 4096) + math.ceil(window_size / 4096)
        per_1000_w = 1000 * join_w + 1000 / BATCH_SIZE * max(aggregate_w, batch_w)
        per_1000_r = 1000 * join_r + 1000 / BATCH_SIZE * max(aggregate_r, batch_r)
        index_records_total = SECONDS * JOINS_PER_SECOND + leaves_total
        entries_w = sum(u for (k, _, key, _), u in usage.items() if k == "write" and key.startswith("SEARCH#"))
        counts_w = sum(u for (k, _, key, _), u in usage.items() if k == "write" and key.startswith("SEARCHN#"))
        search_w = max((u, key) for (k, _, key, _), u in usage.items() if k == "write" and key.startswith("SEARCH"))
        search_r = max((u, key) for (k, _, key, _), u in usage.items() if k == "read" and key.startswith("SEARCH"))
        per_record = (entries_w + counts_w) / index_records_total
        print(f"search index (AudienceSearchFunction, calibrated on moto: {search_summary['entries']} entries for {search_summary['changes']} changes, "
              f"{search_batch_seconds:.1f} s a {BATCH_SIZE}-record batch on moto; the count of {SEARCH!r} exact: {search_ok}): "
              f"a join or leave writes {entries_w / index_records_total:.1f} WCU of entries and {counts_w / index_records_total:.2f} of counts; "
              f"busiest search key {search_w[0]:g} WCU/s ({search_w[1]}), {search_r[0]:g} RCU/s ({search_r[1]})")  # fmt: skip
        print(f"cost per 1,000 joins: {per_1000_w + 1000 * per_record:g} write units ({per_1000_w:g} requests + aggregator, "
              f"{1000 * per_record:g} search index), {per_1000_r:g} read units (requests + aggregator)")  # fmt: skip
        print(f"viral: max WCU/s per key {math.ceil(max_w)}, max RCU/s per key {math.ceil(max_r)}, throttled {throttled}, settle {settle:.1f} s")
        if not (settled_ok and search_ok):
            sys.exit(1)
        del boto3


if __name__ == "__main__":
    from local.cfn import LAYER_DIR

    sys.path.insert(0, str(LAYER_DIR))
    main()
