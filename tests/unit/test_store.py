"""DynamoDB access helpers: transactions retried on conflicts only, conditional updates."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from livestream import store
from livestream.errors import ServiceUnavailable


def cancelled(*codes: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}, "CancellationReasons": [{"Code": c} for c in codes]},
        "TransactWriteItems",
    )


def test_a_transaction_that_only_conflicted_is_retried(monkeypatch):
    calls = []

    def flaky(TransactItems):
        calls.append(TransactItems)
        if len(calls) < 3:
            raise cancelled("None", "TransactionConflict")

    monkeypatch.setattr(store._client, "transact_write_items", flaky)
    monkeypatch.setattr(store.time, "sleep", lambda s: None)
    store.transact([{"Put": {}}])
    assert len(calls) == 3


def test_a_failed_condition_is_not_retried(monkeypatch):
    calls = []

    def failing(TransactItems):
        calls.append(1)
        raise cancelled("ConditionalCheckFailed", "TransactionConflict")

    monkeypatch.setattr(store._client, "transact_write_items", failing)
    with pytest.raises(ClientError) as raised:
        store.transact([{"Put": {}}])
    assert calls == [1] and store.cancellation_codes(raised.value) == ["ConditionalCheckFailed", "TransactionConflict"]


def test_update_if_answers_none_when_the_condition_fails(aws):
    key = store.stream_key("a" * 24)
    assert store.update_if(key, "SET x = :one", "attribute_exists(pk)", {":one": 1}) is None
    assert store.update_if(key, "SET x = :one", "attribute_not_exists(pk)", {":one": 1}) is not None
    assert store.get(key)["x"] == 1


def test_typed_operations_write_in_one_transaction_and_report_failed_conditions(aws):
    first, second = store.stream_key("c" * 24), store.stream_key("d" * 24)
    put_both = [store.Put({**first, "n": 1}, "attribute_not_exists(pk)"), store.Update(second, "SET n = :n", values={":n": 2})]
    assert store.transact_codes(put_both) == []
    assert store.get(first)["n"] == 1 and store.get(second)["n"] == 2
    again = [store.ConditionCheck(second, "n = :n", values={":n": 2}), store.Delete(first, "attribute_not_exists(pk)")]
    assert store.transact_codes(again) == ["None", "ConditionalCheckFailed"]
    assert store.get(first) is not None  # nothing of a cancelled transaction is applied


def test_query_reads_every_page_and_stops_when_the_caller_does(aws):
    pk = store.stream_key("e" * 24)["pk"]
    for n in range(5):
        store.client().put_item(TableName=store.table(), Item=store.serialize({"pk": pk, "sk": f"REMINDER#{n}"}))
    requests = []
    events = store.client().meta.events
    events.register("before-call.dynamodb.Query", lambda **kw: requests.append(1), unique_id="count-queries")
    try:
        _pages(pk, requests)
    finally:
        events.unregister("before-call.dynamodb.Query", unique_id="count-queries")


def _pages(pk, requests):
    items = store.query("pk = :pk", {":pk": pk}, page_size=2)
    assert [i["sk"] for i in items] == [f"REMINDER#{n}" for n in range(5)] and len(requests) == 3
    requests.clear()
    assert next(iter(store.query("pk = :pk", {":pk": pk}, page_size=2)))["sk"] == "REMINDER#0" and len(requests) == 1
    page, last = store.query_page("pk = :pk", {":pk": pk}, page_size=3)
    rest, end = store.query_page("pk = :pk", {":pk": pk}, page_size=3, start=last)
    assert len(page) == 3 and [i["sk"] for i in rest] == ["REMINDER#3", "REMINDER#4"] and end is None


def test_unprocessed_batch_items_are_resent_with_backoff(monkeypatch):
    """DynamoDB leaves the items it throttled in ``UnprocessedKeys``: they are asked again after a pause."""
    key = {"S": "k"}
    answers = [{"UnprocessedKeys": {"T": {"Keys": [key]}}}, {"Responses": {}}]
    sent, pauses = [], []

    def batch_get_item(RequestItems):
        sent.append(RequestItems)
        return answers[len(sent) - 1]

    monkeypatch.setattr(store._client, "batch_get_item", batch_get_item)
    monkeypatch.setattr(store.time, "sleep", pauses.append)
    store.batch_get([{"pk": "a", "sk": "b"}])
    assert len(sent) == 2 and sent[1] == {"T": {"Keys": [key]}} and len(pauses) == 1


def test_items_left_unprocessed_round_after_round_are_a_503(monkeypatch):
    """A table throttled throughout is a dependency failing (503), not a loop until the function times out."""
    sent, pauses = [], []

    def throttled(request):
        sent.append(request)
        return request  # nothing processed

    monkeypatch.setattr(store.time, "sleep", pauses.append)
    with pytest.raises(ServiceUnavailable):
        store.follow_unprocessed(throttled, {"T": ["item"]})
    assert len(sent) == store.UNPROCESSED_ROUNDS and len(pauses) == store.UNPROCESSED_ROUNDS - 1


def test_the_stream_object_documents_exactly_the_statuses_the_store_knows():
    from typing import get_args

    from livestream import models
    from livestream.store.streams import TRANSITIONS, StreamStatus

    assert set(get_args(models.StreamStatus)) == {status.value for status in StreamStatus}
    # scheduled → active → ended, or scheduled → cancelled: no other transition
    moves = {(action, a.value, b.value) for action, edges in TRANSITIONS.items() for a, b in edges.items()}
    assert moves == {("start", "scheduled", "active"), ("end", "active", "ended"), ("end", "scheduled", "cancelled")}
