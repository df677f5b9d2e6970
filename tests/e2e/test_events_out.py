"""Over HTTP against the local stack: the requests write the table, the stack's emulated event source
mapping feeds the table's stream to StreamEventsFunction, which puts events on the bus, and the example
rule delivers them to its queue, where this test reads them as a consumer would."""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests

from local.cfn import Template
from local.emulation import physical_names

pytestmark = pytest.mark.e2e
SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "events" / "schemas"


class Consumer:
    """Reads the example queue; keeps every event by stream, each validated against its schema."""

    def __init__(self, stack: Any) -> None:
        self.sqs = stack.aws("sqs")
        queue = physical_names(Template.load(Stage="local"), stack.aws_endpoint)["StreamEventsExampleQueue.QueueName"]
        self.url = self.sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        self.events: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def receive(self) -> None:
        messages = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        for message in messages:
            event = json.loads(message["Body"])
            jsonschema.validate(event, json.loads((SCHEMAS / f"{event['detail-type']}.json").read_text()))
            self.events[event["detail"]["streamId"]].append(event)
            self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])

    def wait_for(self, stream_id: str, done: Any, timeout: float = 30) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while not done(self.events[stream_id]):
            assert time.monotonic() < deadline, f"events of {stream_id} so far: {[e['detail-type'] for e in self.events[stream_id]]}"
            self.receive()
        return self.events[stream_id]

    def kinds(self, stream_id: str) -> list[str]:
        return [e["detail-type"] for e in self.events[stream_id]]


@pytest.fixture(scope="module")
def consumer(stack) -> Consumer:
    return Consumer(stack)


def uid() -> str:
    return os.urandom(12).hex()


def test_starting_and_ending_a_stream_reaches_a_consumer_of_the_bus(stack, consumer):
    creator = uid()
    stack.add_user(creator)
    planned = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    reply = requests.post(
        stack.url("/api/v1/live-stream/create"), json={"title": "Launch", "plannedStartDate": planned}, headers=stack.auth(creator), timeout=30
    )
    assert reply.status_code == 201, reply.text
    stream_id = reply.json()["data"]["id"]
    started = requests.post(stack.url(f"/api/v1/live-stream/{stream_id}/start"), headers=stack.auth(creator), timeout=30).json()["data"]
    ended = requests.post(stack.url(f"/api/v1/live-stream/{stream_id}/end"), headers=stack.auth(creator), timeout=30).json()["data"]

    events = consumer.wait_for(stream_id, lambda found: len(found) >= 3)
    time.sleep(1.5)  # nothing more, nothing twice
    consumer.receive()
    assert consumer.kinds(stream_id) == ["stream.created", "stream.started", "stream.ended"]
    details = [e["detail"] for e in events]
    assert {d["creatorId"] for d in details} == {creator}
    assert [d["state"] for d in details] == ["scheduled", "active", "ended"]
    assert [d["time"] for d in details] == [started["createdAt"], started["startedAt"], ended["endedAt"]]
    assert {e["source"] for e in events} == {"live-stream"}


def test_audience_changes_reach_a_consumer_at_most_once_per_10_seconds(stack, consumer):
    creator = uid()
    stack.add_user(creator)
    reply = requests.post(stack.url("/api/v1/live-stream/create"), json={"title": "Crowd"}, headers=stack.auth(creator), timeout=30)
    stream_id = reply.json()["data"]["id"]

    def join() -> None:
        viewer = uid()
        stack.add_user(viewer)
        body = {"liveStreamId": stream_id}
        assert requests.post(stack.url("/api/v1/live-stream/join-as-audience"), json=body, headers=stack.auth(viewer), timeout=30).status_code == 200

    began = time.monotonic()
    for _ in range(3):
        join()
    audience = lambda found: [e for e in found if e["detail-type"] == "audience.changed"]  # noqa: E731
    first = audience(consumer.wait_for(stream_id, lambda found: audience(found)))[0]
    published_by = time.monotonic()  # the first audience event was claimed and published before this
    time.sleep(2)
    consumer.receive()
    if time.monotonic() - began < 10:  # everything so far fell in one window
        assert len(audience(consumer.events[stream_id])) == 1
    assert 1 <= first["detail"]["audience"]["cumulative"] <= 3

    time.sleep(max(0.0, 10.5 - (time.monotonic() - published_by)))  # the window has passed: the next change goes out
    join()
    latest = consumer.wait_for(stream_id, lambda found: any(e["detail"]["audience"]["cumulative"] == 4 for e in audience(found)))
    assert audience(latest)[-1]["detail"]["audience"] == {"current": 4, "peak": 4, "cumulative": 4}
