"""The viewers search through the local stack: the stack runs AudienceSearchFunction's event source
mapping from the template, so the index follows joins and leaves without anyone draining it."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.e2e


def uid() -> str:
    return os.urandom(12).hex()


def found(stack: Any, stream_id: str, caller: str, search: str, expected: set[str], seconds: float = 10) -> tuple[set[str], int]:
    """Who a search finds and its totalItems, polled (bounded) until it finds ``expected``: the index settles
    within seconds, like the counts."""
    deadline = time.monotonic() + seconds
    while True:
        reply = requests.get(
            stack.url(f"/api/v1/live-stream/{stream_id}/viewers"), params={"search": search, "limit": 100}, headers=stack.auth(caller), timeout=30
        )
        assert reply.status_code == 200, reply.text
        data = reply.json()["data"]
        result = ({v["_id"] for v in data["list"]}, data["pagination"]["totalItems"])
        if result == (expected, len(expected)) or time.monotonic() > deadline:
            return result
        time.sleep(0.25)


def test_a_search_finds_who_joined_and_not_who_left(stack):
    host, ayse, ali, other = uid(), uid(), uid(), uid()
    stack.add_user(host)
    stack.add_user(ayse, name="Ayşe", surname="Işık", username="ayse.isik")
    stack.add_user(ali, name="Ali Veli", surname="Şahin", username="aliv")
    stack.add_user(other, name="Deniz", surname="Kaya", username="dk")
    reply = requests.post(stack.url("/api/v1/live-stream/create"), json={"title": "Search"}, headers=stack.auth(host), timeout=30)
    stream = reply.json()["data"]
    for viewer in (ayse, ali, other):
        joined = requests.post(
            stack.url("/api/v1/live-stream/join-as-audience"), json={"liveStreamId": stream["id"]}, headers=stack.auth(viewer), timeout=60
        )
        assert joined.status_code == 200, joined.text
    assert found(stack, stream["id"], host, "ISIK", {ayse}) == ({ayse}, 1)
    assert found(stack, stream["id"], host, "ali ve", {ali}) == ({ali}, 1)
    assert found(stack, stream["id"], host, "a", {ayse, ali}) == ({ayse, ali}, 2)
    assert found(stack, stream["id"], host, "sik", set()) == (set(), 0)  # inside a word
    requests.post(stack.url(f"/api/v1/live-stream/{stream['id']}/leave"), headers=stack.auth(ayse), timeout=60)
    assert found(stack, stream["id"], host, "a", {ali}) == ({ali}, 1)
