"""The audience counters, end to end through the emulated stream: joins and leaves write only their
participant; AudienceCountsFunction's event source mapping (filter, batch, bisect, retries as in the
template) counts them onto the stream item, exactly once whatever fails."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from livestream import store
from tests.support import invoke_function, user_id

HOST = user_id(1)
VIEWERS = [user_id(100 + n) for n in range(6)]


@pytest.fixture
def live(api):
    for who in (HOST, *VIEWERS):
        api.add_user(who)
    return api.create(HOST).data


def join(api, stream, who):
    assert api.post("/api/v1/live-stream/join-as-audience", json_body={"liveStreamId": stream["id"]}, user=who).status == 200


def leave(api, stream, who):
    assert api.post(f"/api/v1/live-stream/{stream['id']}/leave", user=who).status == 200


def counts(stream_id):
    item = store.get(store.stream_key(stream_id))
    return int(item.get("audienceCount", 0)), int(item.get("peakAudience", 0)), int(item.get("cumulativeAudience", 0))


def mapping_with(aws, invoke):
    """The AudienceCountsFunction mapping, invoking through ``invoke`` (to make it fail as Lambda can)."""
    return aws.mapping_with("AudienceCountsFunction", invoke)


def test_joins_and_leaves_never_write_the_stream_item(api, live, monkeypatch):
    writes = []
    client = store.client()
    for name in ("update_item", "put_item", "transact_write_items"):
        real = getattr(client, name)

        def spy(real=real, name=name, **request):
            items = [next(iter(i.values())) for i in request["TransactItems"]] if name == "transact_write_items" else [request]
            writes.extend(store.deserialize(i.get("Key") or {k: i["Item"][k] for k in ("pk", "sk")}) for i in items)
            return real(**request)

        monkeypatch.setattr(client, name, spy)
    for who in VIEWERS:
        join(api, live, who)
    leave(api, live, VIEWERS[0])
    assert writes and all(w["sk"] != store.META for w in writes)
    # the participants spread over the shards' partition keys
    assert len({w["pk"] for w in writes}) > 1
    monkeypatch.undo()
    api.settle()
    assert counts(live["id"]) == (5, 6, 6)


def test_only_participant_records_reach_the_aggregator(api, aws, live):
    join(api, live, VIEWERS[0])
    mapping, seen = aws.recording_mapping("AudienceCountsFunction")
    mapping.drain()
    # the uid guard, the stream item, the channel guard and the profiles are filtered out
    assert seen and {r["dynamodb"]["Keys"]["sk"]["S"] for r in seen} == {f"PART#{VIEWERS[0]}"}
    assert mapping.stats.records_filtered >= 4
    assert counts(live["id"]) == (1, 1, 1)


def test_a_batch_retried_after_it_was_counted_counts_once(api, aws, live):
    """The function counted, then failed before the mapping checkpointed (a timeout, a crash): Lambda
    retries the batch, bisecting; the sequence marks skip what was counted."""
    calls = []

    def counted_then_crashed(name, event):
        calls.append(len(event["Records"]))
        outcome = invoke_function(name, event)
        return ("error", "Task timed out") if len(calls) == 1 else outcome

    for who in VIEWERS[:4]:
        join(api, live, who)
    leave(api, live, VIEWERS[1])
    mapping = mapping_with(aws, counted_then_crashed)
    mapping.drain()
    assert calls[0] >= 5 and len(calls) > 1 and mapping.stats.bisections == 1
    assert counts(live["id"]) == (3, 4, 4)
    assert mapping.stats.batches_discarded == 0


def test_a_failure_half_way_loses_nothing(api, aws, monkeypatch):
    """A batch of two streams whose second update fails: the first stream's counts stay, the second's
    come with the retry, each once."""
    for who in (HOST, *VIEWERS):
        api.add_user(who)
    first, second = api.create(HOST).data, api.create(HOST, title="Evening").data
    join(api, first, VIEWERS[0])
    join(api, second, VIEWERS[1])
    join(api, second, VIEWERS[2])
    real = store.write
    failures = []

    def throttled_once(items, *args, **kwargs):
        key = store.serialize(store.stream_key(second["id"]))
        if any(next(iter(i.values())).get("Key") == key for i in items) and not failures:
            failures.append(key)
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "TransactWriteItems")
        return real(items, *args, **kwargs)

    monkeypatch.setattr(store, "write", throttled_once)
    mapping = aws.mapping("AudienceCountsFunction")
    mapping.drain()
    assert failures and mapping.stats.retries + mapping.stats.bisections >= 1
    assert counts(first["id"]) == (1, 1, 1)
    assert counts(second["id"]) == (2, 2, 2)


def test_a_concurrent_batch_of_another_shard_is_not_overwritten(api, aws, live, monkeypatch):
    """Two invocations (two shards of the table's stream) count the same stream at once: the one whose
    optimistic lock fails re-reads and adds to what the other wrote."""
    from livestream import aggregator

    join(api, live, VIEWERS[0])
    join(api, live, VIEWERS[1])
    records = []

    def capture(name, event):
        records.extend(event["Records"])
        return "ok", None

    mapping_with(aws, capture).drain()
    mine = [r for r in records if r["dynamodb"]["Keys"]["sk"]["S"] == f"PART#{VIEWERS[0]}"]
    theirs = [r for r in records if r not in mine]
    assert mine and theirs
    real_get = store.get
    raced = []

    def get_then_race(key, **kwargs):
        item = real_get(key, **kwargs)
        if key == store.stream_key(live["id"]) and not raced:
            raced.append(True)
            aggregator.apply(theirs)  # the other shard's invocation commits in between
        return item

    monkeypatch.setattr(store, "get", get_then_race)
    aggregator.apply(mine)
    monkeypatch.undo()
    assert raced and counts(live["id"]) == (2, 2, 2)
    assert aggregator.apply(records)["counted"] == 0  # and a replay of both counts nothing
    assert counts(live["id"]) == (2, 2, 2)


def test_joins_before_the_end_count_even_when_counted_after_it(api, live):
    join(api, live, VIEWERS[0])
    join(api, live, VIEWERS[1])
    assert api.post(f"/api/v1/live-stream/{live['id']}/end", user=HOST).status == 200
    api.settle()  # the aggregator gets to them only now
    assert counts(live["id"])[1:] == (2, 2)
    assert api.get(f"/api/v1/live-stream/{live['id']}/viewers", user=HOST).data["participantAudienceTotal"] == 0


def test_a_join_written_after_the_end_is_not_counted(api, aws, live, monkeypatch):
    join(api, live, VIEWERS[0])
    real = store.get_many

    def read_then_end(*keys, **options):  # the join reads the stream live; the end lands before its write
        found = real(*keys, **options)
        api.post(f"/api/v1/live-stream/{live['id']}/end", user=HOST)
        return found

    monkeypatch.setattr(store, "get_many", read_then_end)
    join(api, live, VIEWERS[1])
    monkeypatch.undo()
    api.settle()
    assert counts(live["id"])[1:] == (1, 1)


def test_the_peak_is_a_true_maximum_across_batches(api, live):
    for who in VIEWERS[:3]:
        join(api, live, who)
    api.settle()
    for who in VIEWERS[:3]:
        leave(api, live, who)
    join(api, live, VIEWERS[3])
    api.settle()
    assert counts(live["id"]) == (1, 3, 4)
    join(api, live, VIEWERS[0])  # a rejoin: current, not cumulative
    api.settle()
    assert counts(live["id"]) == (2, 3, 4)
