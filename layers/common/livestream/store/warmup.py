"""The DynamoDB client warmed for a SnapStart snapshot (see :mod:`livestream.snapstart`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from livestream import store


def prime(stubbed_call: Callable[[Any, str, dict[str, Any], dict[str, Any]], Any], resolve_shapes: Callable[[Any], Any], *, times: int = 1) -> None:
    """Every operation the layer sends, ``times`` times through the client's whole request path
    (endpoint rules and the operation's own endpoint parameters, serialising, signing, the events
    around sending, parsing), each answered by a stub with an empty result (no request leaves); then
    every operation's shapes resolved and its exception classes built."""
    for _ in range(times):
        for operation, request in _requests():
            stubbed_call(store.client(), operation, {}, request)
    resolve_shapes(store.client())
    # built on first use and unsynchronised: two threads' first errors can get different classes, and
    # ``except client.exceptions.X`` in one then misses the other's X
    store.client().exceptions  # noqa: B018


# botocore resolves a call's endpoint from its parameters and caches the answer per parameters (100 of
# them): a transaction's include the table of each of its items (ResourceArnList), so each size, and each
# mix of tables, is its own entry. Primed: 1 to 11 items on the table (the reminder dispatcher's largest:
# 10 reminders and their batch; the joins', starts', ends'). Not primed: create's of 12 or more (up to 18:
# stream, channel guard, host, 5 broadcasters, 10 guests), nor a keyed create's (one item on the
# idempotency table): such a first create resolves its endpoint once.
TRANSACTION_SIZES = range(1, 12)


def _requests() -> list[tuple[str, dict[str, Any]]]:
    """One valid request of each operation, and a transaction of each size (for the stub: nothing is sent)."""
    table, key = store.table(), store.serialize(store.stream_key("0" * 24))
    keyed, one = {"TableName": table, "Key": key}, {"N": "1"}
    check = {"ConditionCheck": {**keyed, "ConditionExpression": "attribute_exists(pk)"}}
    return [
        ("get_item", keyed),
        ("batch_get_item", {"RequestItems": {table: {"Keys": [key]}}}),
        ("query", {"TableName": table, "KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": key["pk"]}}),
        ("put_item", {"TableName": table, "Item": key, "ConditionExpression": "attribute_not_exists(pk)"}),
        ("update_item", {**keyed, "UpdateExpression": "SET n = :n", "ExpressionAttributeValues": {":n": one}}),
        ("delete_item", keyed),
        *(("transact_write_items", {"TransactItems": [check] * size}) for size in TRANSACTION_SIZES),
        ("batch_write_item", {"RequestItems": {table: [{"DeleteRequest": {"Key": key}}]}}),
    ]


def table_client() -> Any:
    """The table's client, which the SnapStart hooks keep across restores (closing its connections)."""
    return store.client()
