"""The DynamoDB client warmed for a SnapStart snapshot (see :mod:`livestream.snapstart`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from livestream import store


def prime(stubbed_call: Callable[[Any, str, dict[str, Any], dict[str, Any]], Any], resolve_shapes: Callable[[Any], Any]) -> None:
    """One GetItem through the client's whole request path, answered by a stub (no request leaves),
    then every operation's shapes resolved."""
    request = {"TableName": store.table(), "Key": store.serialize(store.stream_key("0" * 24))}
    stubbed_call(store.client(), "get_item", {"Item": {}}, request)
    resolve_shapes(store.client())


def table_client() -> Any:
    """The table's client, which the SnapStart hooks keep across restores (closing its connections)."""
    return store.client()
