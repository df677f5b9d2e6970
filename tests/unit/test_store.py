"""DynamoDB access helpers: transactions retried on conflicts only, conditional updates."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from livestream import store


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
