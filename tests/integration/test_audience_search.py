"""The viewers' search index, end to end through the emulated stream: joins and leaves write only their
participant; AudienceSearchFunction's event source mapping (filter, batch, bisect, retries as in the
template) keeps the word-prefix entries and their counts, exactly once whatever fails."""

from __future__ import annotations

import threading

import pytest

from livestream import audience_search, store
from livestream.store import audience
from tests.support import invoke_function, user_id

HOST = user_id(1)
VIEWERS = [user_id(100 + n) for n in range(4)]


@pytest.fixture
def live(api):
    api.add_user(HOST)
    for n, who in enumerate(VIEWERS):
        api.add_user(who, name="Deniz", surname="Yılmaz", username=f"deniz{n}")
    return api.create(HOST).data


def join(api, stream, who):
    assert api.post("/api/v1/live-stream/join-as-audience", json_body={"liveStreamId": stream["id"]}, user=who).status == 200


def leave(api, stream, who):
    assert api.post(f"/api/v1/live-stream/{stream['id']}/leave", user=who).status == 200


def mapping_with(aws, invoke):
    """The AudienceSearchFunction mapping, invoking through ``invoke`` (to make it fail as Lambda can)."""
    return aws.mapping_with("AudienceSearchFunction", invoke)


def found(stream_id, text, wanted=100):
    entries, total = audience_search.search(stream_id, text, wanted)
    return [audience.user_of(e) for e in entries], total


def test_the_index_follows_joins_and_leaves(api, live):
    for who in VIEWERS:
        join(api, live, who)
    leave(api, live, VIEWERS[1])
    api.settle()
    assert found(live["id"], "d") == ([VIEWERS[3], VIEWERS[2], VIEWERS[0]], 3)
    assert found(live["id"], "deniz1") == ([], 0)
    assert found(live["id"], "deniz yilm") == ([VIEWERS[3], VIEWERS[2], VIEWERS[0]], 3)
    join(api, live, VIEWERS[1])
    join(api, live, VIEWERS[1])  # a repeat join changes nothing
    api.settle()
    assert found(live["id"], "deniz1") == ([VIEWERS[1]], 1)
    assert found(live["id"], "yilmaz") == ([VIEWERS[1], VIEWERS[3], VIEWERS[2], VIEWERS[0]], 4)


def test_a_search_longer_than_the_index_keys_pages_on(api, live):
    """A search of more than 10 characters has no count of its own: its first page still shows that a
    second one follows, and the second holds the rest."""
    for who in VIEWERS:
        join(api, live, who)
    api.settle()
    pages = [
        api.get(f"/api/v1/live-stream/{live['id']}/viewers", user=HOST, query={"search": "deniz yilmaz", "limit": 2, "page": page}).data
        for page in (1, 2)
    ]
    assert [p["pagination"]["hasNextPage"] for p in pages] == [True, False]
    assert [v["_id"] for p in pages for v in p["list"]] == VIEWERS[::-1]
    assert pages[1]["pagination"]["totalItems"] == 4


def test_only_participant_records_reach_it(api, aws, live):
    join(api, live, VIEWERS[0])
    mapping, seen = aws.recording_mapping("AudienceSearchFunction")
    mapping.drain()
    assert seen and {r["dynamodb"]["Keys"]["sk"]["S"] for r in seen} == {f"PART#{VIEWERS[0]}"}
    assert found(live["id"], "yil") == ([VIEWERS[0]], 1)
    # its own entries and counts are on the stream too, and filtered out
    delivered = len(seen)
    mapping.drain()
    assert len(seen) == delivered and mapping.stats.records_filtered > 20


def test_a_batch_retried_after_it_was_applied_counts_once(api, aws, live):
    """The function applied the batch, then failed before the mapping checkpointed: Lambda retries it,
    bisecting; entries are written again as they were, counts are not added twice."""
    calls = []

    def applied_then_crashed(name, event):
        calls.append(len(event["Records"]))
        outcome = invoke_function(name, event)
        return ("error", "Task timed out") if len(calls) == 1 else outcome

    for who in VIEWERS[:3]:
        join(api, live, who)
    leave(api, live, VIEWERS[1])
    join(api, live, VIEWERS[3])
    mapping = mapping_with(aws, applied_then_crashed)
    mapping.drain()
    assert calls[0] >= 5 and len(calls) > 1 and mapping.stats.bisections == 1 and mapping.stats.batches_discarded == 0
    assert found(live["id"], "deniz") == ([VIEWERS[3], VIEWERS[2], VIEWERS[0]], 3)
    assert found(live["id"], "deniz1") == ([], 0)


def test_a_failure_half_way_loses_nothing(api, aws, live, monkeypatch):
    """The counts fail after the entries were written: the retry writes the same entries and adds each count once."""
    for who in VIEWERS[:2]:
        join(api, live, who)
    real = audience.add_search_count
    failures = []

    def fails_once(*args, **kwargs):
        if len(failures) < 1 and args[1] == "d":
            failures.append(args)
            raise RuntimeError("throttled")
        return real(*args, **kwargs)

    monkeypatch.setattr(audience, "add_search_count", fails_once)
    mapping = aws.mapping("AudienceSearchFunction")
    mapping.drain()
    assert failures and mapping.stats.retries + mapping.stats.bisections >= 1 and mapping.stats.batches_discarded == 0
    assert found(live["id"], "d") == ([VIEWERS[1], VIEWERS[0]], 2)
    assert found(live["id"], "deniz0") == ([VIEWERS[0]], 1)


def test_words_and_prefixes():
    text = audience_search.search_text({"name": "Ali  Veli", "surname": "Şahin", "username": "u_cem"})
    assert text == "ali veli sahin\nu_cem"
    assert audience_search.words(text) == {"ali veli sahin", "veli sahin", "sahin", "u_cem", "cem"}
    prefixes = audience_search.prefixes(text)
    assert "ali veli s" in prefixes and prefixes["ali veli s"] == ["ali veli sahin"]
    assert "ali " not in prefixes and "ali v" in prefixes and "_cem" not in prefixes and "u_" in prefixes
    assert max(map(len, prefixes)) == audience_search.PREFIX_CAP


def test_participant_writes_carry_only_the_values_their_expressions_use(api, live, monkeypatch):
    """DynamoDB refuses an ExpressionAttributeValues entry no expression uses: an Agora event confirming a
    viewer who also streams uses neither ``:false`` nor a new deadline's start values."""
    import re

    sent = []
    real = store.write

    def spy(items):
        sent.extend(next(iter(i.values())) for i in items)
        return real(items)

    monkeypatch.setattr(store, "write", spy)
    watch = audience.Watch("2026-12-01T18:00:00.000Z", "deniz yilmaz", "2026-12-01T19:05:00.000Z")
    settlement = audience.Settlement((True, True), (True, True), 7, 2_000_000_000, watch, True, watch.deadline, watch.joined_at, None)
    audience.settle(live["id"], VIEWERS[0], settlement)
    join(api, live, VIEWERS[1])
    assert sent
    for request in sent:
        used = set(re.findall(r":\w+", f"{request.get('UpdateExpression', '')} {request.get('ConditionExpression', '')}"))
        assert set(request.get("ExpressionAttributeValues", {})) <= used, request


def test_the_entries_and_the_counts_of_a_batch_are_written_together(api, aws, live):
    """A batch's BatchWriteItem requests and its count updates go out together (8 at a time), not the
    counts after the entries: the index and its counts as exact as before."""
    counting = threading.Event()

    def sent(params, model, **kwargs):
        if model.name == "UpdateItem" and params["Key"]["pk"]["S"].startswith("SEARCHN#"):
            counting.set()
        elif model.name == "BatchWriteItem" and not counting.wait(timeout=5):
            raise AssertionError("the counts waited for the entries")

    events = store.client().meta.events
    events.register("provide-client-params.dynamodb", sent, unique_id="index-together")
    try:
        for who in VIEWERS[:2]:
            join(api, live, who)
        mapping = aws.mapping("AudienceSearchFunction")
        mapping.drain()
    finally:
        events.unregister("provide-client-params.dynamodb", unique_id="index-together")
    assert counting.is_set() and mapping.stats.retries == mapping.stats.bisections == 0
    assert found(live["id"], "d") == ([VIEWERS[1], VIEWERS[0]], 2)
    assert found(live["id"], "deniz yilm") == ([VIEWERS[1], VIEWERS[0]], 2)
