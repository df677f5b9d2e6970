"""Joining with real concurrency against the local stack (several worker processes per function)."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from local.cfn import Template
from local.emulation import physical_names

pytestmark = pytest.mark.e2e


def uid() -> str:
    return os.urandom(12).hex()


def stream_item(stack, stream_id):
    table = physical_names(Template.load(), stack.aws_endpoint)["MainTable"]
    item = stack.aws("dynamodb").get_item(TableName=table, Key={"pk": {"S": f"STREAM#{stream_id}"}, "sk": {"S": "META"}}, ConsistentRead=True)
    return {k: int(v["N"]) for k, v in item["Item"].items() if "N" in v}


def settled(stack, stream_id, expected, seconds: float = 10):
    """The stream's (current, peak, cumulative) once the aggregator has counted (the API: within 5 s);
    polled a bounded number of times, answered as last read when it never reaches ``expected``."""
    deadline = time.monotonic() + seconds
    while True:
        item = stream_item(stack, stream_id)
        counts = (item.get("audienceCount", 0), item.get("peakAudience", 0), item.get("cumulativeAudience", 0))
        if counts == expected or time.monotonic() > deadline:
            return counts
        time.sleep(0.25)


def create(stack, creator, **fields):
    stack.add_user(creator)
    reply = requests.post(stack.url("/api/v1/live-stream/create"), json={"title": "Race", **fields}, headers=stack.auth(creator), timeout=30)
    assert reply.status_code == 201
    return reply.json()["data"]


def test_twenty_users_joining_twice_at_once(stack):
    stream = create(stack, uid())
    viewers = [uid() for _ in range(20)]
    for viewer in viewers:
        stack.add_user(viewer)
    start = threading.Barrier(40)

    def join(viewer):
        start.wait()
        reply = requests.post(
            stack.url("/api/v1/live-stream/join-as-audience"), json={"liveStreamId": stream["id"]}, headers=stack.auth(viewer), timeout=60
        )
        assert reply.status_code == 200, reply.text
        return viewer, reply.json()["data"]["agora"]["uid"]

    with ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(join, viewers * 2))
    by_user: dict[str, set[int]] = {}
    for viewer, agora_uid in results:
        by_user.setdefault(viewer, set()).add(agora_uid)
    assert all(len(uids) == 1 for uids in by_user.values())  # the same uid on both joins
    assert len({next(iter(u)) for u in by_user.values()}) == 20  # distinct across users
    assert settled(stack, stream["id"], (20, 20, 20)) == (20, 20, 20)
    page = requests.get(stack.url(f"/api/v1/live-stream/{stream['id']}/viewers"), params={"limit": 100}, headers=stack.auth(viewers[0]), timeout=30)
    assert page.json()["data"]["pagination"]["totalItems"] == 20 and len(page.json()["data"]["list"]) == 20

    with ThreadPoolExecutor(max_workers=20) as pool:
        list(
            pool.map(
                lambda v: requests.post(stack.url(f"/api/v1/live-stream/{stream['id']}/leave"), headers=stack.auth(v), timeout=60), viewers[:10] * 2
            )
        )
    assert settled(stack, stream["id"], (10, 20, 20)) == (10, 20, 20)


def test_joins_racing_with_end_never_leave_a_viewer_in_an_ended_stream(stack):
    creator = uid()
    stream = create(stack, creator)
    viewers = [uid() for _ in range(12)]
    for viewer in viewers:
        stack.add_user(viewer)
    start = threading.Barrier(len(viewers) + 1)

    def join(viewer):
        start.wait()
        return requests.post(
            stack.url("/api/v1/live-stream/join-as-audience"), json={"liveStreamId": stream["id"]}, headers=stack.auth(viewer), timeout=60
        ).status_code

    def end():
        start.wait()
        return requests.post(stack.url(f"/api/v1/live-stream/{stream['id']}/end"), headers=stack.auth(creator), timeout=60).status_code

    with ThreadPoolExecutor(max_workers=len(viewers) + 1) as pool:
        ended = pool.submit(end)
        statuses = list(pool.map(join, viewers))
    assert ended.result() == 200
    assert set(statuses) <= {200, 409}
    # a join that read the stream live but wrote after the end is answered, but never counted
    counted = settled(stack, stream["id"], (statuses.count(200),) * 3, seconds=3)
    assert counted[0] == counted[1] == counted[2] <= statuses.count(200)
    for viewer in viewers:
        late = requests.post(
            stack.url("/api/v1/live-stream/join-as-audience"), json={"liveStreamId": stream["id"]}, headers=stack.auth(viewer), timeout=30
        )
        assert late.status_code == 409
    page = requests.get(stack.url(f"/api/v1/live-stream/{stream['id']}/viewers"), headers=stack.auth(creator), timeout=30).json()["data"]
    assert page["list"] == [] and page["participantAudienceTotal"] == 0


def test_publisher_tokens_and_renewal_over_http(stack):
    creator, co_host = uid(), uid()
    stack.add_user(co_host)
    stream = create(stack, creator, liveStreamType="multi", broadcasters=[co_host])
    joined = requests.post(
        stack.url("/api/v1/live-stream/join-as-broadcaster"), json={"liveStreamId": stream["id"]}, headers=stack.auth(co_host), timeout=30
    )
    assert joined.status_code == 200 and joined.json()["data"]["agora"]["role"] == "broadcaster"
    renewed = requests.post(stack.url(f"/api/v1/live-stream/{stream['id']}/token"), headers=stack.auth(co_host), timeout=30)
    assert renewed.json()["data"]["agora"]["uid"] == joined.json()["data"]["agora"]["uid"]
    assert requests.post(stack.url(f"/api/v1/live-stream/{stream['id']}/token"), headers=stack.auth(uid()), timeout=30).status_code == 403
