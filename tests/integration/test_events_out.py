"""Events out, end to end in process: requests write the table, the emulated event source mapping reads
the table's stream with template.yaml's settings and invokes StreamEventsFunction, which puts the events
on the bus; the example rule delivers them to its queue, where a consumer reads them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest

from local.streams import EventSourceMapping
from tests.support import Api, AwsResources, drain_queue, template, user_id

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "docs" / "events" / "schemas"
HOST, VIEWER = user_id(1), user_id(2)


@pytest.fixture
def mapping(aws: AwsResources) -> EventSourceMapping:
    return aws.mapping("StreamEventsFunction")


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    from livestream import events_out

    monkeypatch.setattr(events_out.time, "sleep", lambda _seconds: None)


def queue_messages(aws: AwsResources, logical: str) -> list[dict[str, Any]]:
    """Every message on a queue, received once and deleted."""
    sqs = boto3.client("sqs")
    return drain_queue(sqs, sqs.get_queue_url(QueueName=aws.names[f"{logical}.QueueName"])["QueueUrl"])


def consumed_events(aws: AwsResources) -> list[dict[str, Any]]:
    """What the example consumer got, each checked against the documented schema of its detail type."""
    events = queue_messages(aws, "StreamEventsExampleQueue")
    for event in events:
        jsonschema.validate(event, json.loads((SCHEMAS / f"{event['detail-type']}.json").read_text()))
    return events


def kinds(events: list[dict[str, Any]], stream_id: str) -> list[str]:
    return [e["detail-type"] for e in events if e["detail"]["streamId"] == stream_id]


def live_stream(api: Api, **fields: Any) -> str:
    api.add_user(HOST)
    reply = api.create(HOST, **fields)
    assert reply.status == 201, reply.json
    return reply.data["id"]


def join(api: Api, stream_id: str, n: int) -> None:
    viewer = user_id(100 + n)
    api.add_user(viewer)
    reply = api.post("/api/v1/live-stream/join-as-audience", json_body={"liveStreamId": stream_id}, user=viewer)
    assert reply.status == 200, reply.json


class FlakyEvents:
    """The events client as the publisher sees it, refusing entries (``FailedEntryCount``) on demand."""

    def __init__(self, real: Any, refuse: Any) -> None:
        self.real, self.refuse, self.calls = real, refuse, []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # boto3's parameter name
        self.calls.append([(e["DetailType"], json.loads(e["Detail"])["streamId"]) for e in Entries])
        refused = [self.refuse(e, len(self.calls)) for e in Entries]
        accepted = [e for e, no in zip(Entries, refused, strict=True) if not no]
        result = iter(self.real.put_events(Entries=accepted)["Entries"] if accepted else [])
        entries = [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"} if no else next(result) for no in refused]
        return {"FailedEntryCount": sum(refused), "Entries": entries}


def flaky(monkeypatch: pytest.MonkeyPatch, refuse: Any) -> FlakyEvents:
    from livestream import events_out

    client = FlakyEvents(events_out._client, refuse)
    monkeypatch.setattr(events_out, "_client", client)
    return client


# ---------------------------------------------------------------- lifecycle


def test_starting_and_ending_a_stream_puts_its_lifecycle_on_the_bus_in_order(api: Api, aws: AwsResources, mapping: EventSourceMapping):
    api.add_user(HOST)
    scheduled = api.create(HOST, plannedStartDate=(datetime.now(UTC) + timedelta(hours=2)).isoformat()).data
    assert api.post(f"/api/v1/live-stream/{scheduled['id']}/start", user=HOST).status == 200
    assert api.post(f"/api/v1/live-stream/{scheduled['id']}/end", user=HOST).status == 200
    cancelled = api.create(HOST, plannedStartDate=(datetime.now(UTC) + timedelta(hours=3)).isoformat()).data
    assert api.post(f"/api/v1/live-stream/{cancelled['id']}/end", user=HOST).status == 200

    assert consumed_events(aws) == [], "the request handlers publish nothing themselves"
    api.settle()
    mapping.drain()
    events = consumed_events(aws)

    assert kinds(events, scheduled["id"]) == ["stream.created", "stream.started", "stream.ended"]
    assert kinds(events, cancelled["id"]) == ["stream.created", "stream.cancelled"]
    ended = api.get(f"/api/v1/live-stream/{scheduled['id']}").data
    by_kind = {e["detail-type"]: e for e in events if e["detail"]["streamId"] == scheduled["id"]}
    assert by_kind["stream.created"]["detail"] | {"audience": None} == {
        "streamId": scheduled["id"],
        "creatorId": HOST,
        "state": "scheduled",
        "previousState": None,
        "title": "Morning show",
        "time": scheduled["createdAt"],
        "audience": None,
    }
    assert by_kind["stream.started"]["detail"]["time"] == ended["startedAt"]
    assert (by_kind["stream.started"]["detail"]["previousState"], by_kind["stream.started"]["detail"]["state"]) == ("scheduled", "active")
    assert by_kind["stream.ended"]["detail"]["time"] == ended["endedAt"]
    assert all(e["source"] == "live-stream" for e in events)
    assert mapping.stats.batches_discarded == 0
    assert mapping.drain() == 0, "everything was consumed once"


def test_a_stream_created_live_is_created_and_started(api: Api, aws: AwsResources, mapping: EventSourceMapping):
    stream_id = live_stream(api)
    api.settle()
    mapping.drain()
    events = consumed_events(aws)
    assert kinds(events, stream_id) == ["stream.created", "stream.started"]
    assert [e["detail"]["previousState"] for e in events] == [None, None]
    assert {e["detail"]["state"] for e in events} == {"active"}


def test_only_stream_items_reach_the_publisher(api: Api, aws: AwsResources, mapping: EventSourceMapping):
    stream_id = live_stream(api)
    join(api, stream_id, 1)
    api.settle()
    mapping.drain()
    # profiles, members, channel guards, participants and uid guards are dropped by the mapping's filter
    assert mapping.stats.records_filtered >= 6
    assert mapping.stats.records_delivered == 2  # the stream item: created, then counted by the aggregator
    assert kinds(consumed_events(aws), stream_id) == ["stream.created", "stream.started", "audience.changed"]


# ---------------------------------------------------------------- audience.changed


def test_audience_changes_are_published_at_most_once_per_stream_per_10_seconds(
    api: Api, aws: AwsResources, mapping: EventSourceMapping, monkeypatch: pytest.MonkeyPatch
):
    from livestream import events_out

    stream_id = live_stream(api)
    clock = [datetime.now(UTC)]
    monkeypatch.setattr(events_out, "now", lambda: clock[0])
    for n in range(5):  # each join's records in a batch of their own: five chances to publish
        join(api, stream_id, n)
        api.settle()
        mapping.drain()
        clock[0] += timedelta(seconds=1.9)
    first = [e for e in consumed_events(aws) if e["detail-type"] == "audience.changed"]
    assert [e["detail"]["audience"] for e in first] == [{"current": 1, "peak": 1, "cumulative": 1}]

    clock[0] += timedelta(seconds=0.6)  # 10 s after the first
    join(api, stream_id, 5)
    api.settle()
    mapping.drain()
    second = consumed_events(aws)
    assert [e["detail"]["audience"] for e in second] == [{"current": 6, "peak": 6, "cumulative": 6}]
    assert second[0]["detail"]["state"] == "active"


def test_a_batch_publishes_only_its_newest_counts(api: Api, aws: AwsResources, mapping: EventSourceMapping):
    stream_id = live_stream(api)
    api.settle()
    mapping.drain()
    consumed_events(aws)
    for n in range(4):
        join(api, stream_id, n)
    assert api.post(f"/api/v1/live-stream/{stream_id}/leave", user=user_id(100)).status == 200
    api.settle()
    mapping.drain()
    audience = [e["detail"]["audience"] for e in consumed_events(aws)]
    assert audience == [{"current": 3, "peak": 4, "cumulative": 4}]


def test_the_throttle_has_one_winner_however_many_publishers_race(api: Api, aws: AwsResources):
    """Two publishers (say, a retried batch and a split shard) holding different records of one stream:
    one audience.changed between them; the winner's own retry may publish again (its event was maybe lost)."""
    from livestream import events_out

    at = datetime.now(UTC)
    stream_id = live_stream(api)
    wins = [events_out.claim_audience_event(stream_id, seq, at + timedelta(milliseconds=i)) for i, seq in enumerate(["101", "102", "103"])]
    assert wins == [True, False, False]
    assert events_out.claim_audience_event(stream_id, "101", at + timedelta(seconds=3)), "the winner's retry keeps its right"
    # the window counts from the latest publish, the retry's
    assert not events_out.claim_audience_event(stream_id, "104", at + timedelta(seconds=12.9))
    assert events_out.claim_audience_event(stream_id, "104", at + timedelta(seconds=13))


def test_counts_after_the_end_are_not_audience_changes(api: Api, aws: AwsResources, mapping: EventSourceMapping):
    stream_id = live_stream(api)
    join(api, stream_id, 1)
    api.settle()
    mapping.drain()
    consumed_events(aws)
    assert api.post(f"/api/v1/live-stream/{stream_id}/end", user=HOST).status == 200
    api.post(f"/api/v1/live-stream/{stream_id}/leave", user=user_id(101))
    api.settle()
    mapping.drain()
    events = consumed_events(aws)
    assert kinds(events, stream_id) == ["stream.ended"]
    assert events[0]["detail"]["audience"] == {"current": 0, "peak": 1, "cumulative": 1}


# ---------------------------------------------------------------- failures


def test_entries_eventbridge_refuses_are_resent_alone(
    api: Api, aws: AwsResources, mapping: EventSourceMapping, monkeypatch: pytest.MonkeyPatch, no_backoff: None
):
    client = flaky(monkeypatch, lambda entry, call: call == 1 and entry["DetailType"] == "stream.started")
    stream_id = live_stream(api)
    api.settle()
    mapping.drain()
    assert client.calls == [[("stream.created", stream_id), ("stream.started", stream_id)], [("stream.started", stream_id)]]
    assert kinds(consumed_events(aws), stream_id) == ["stream.created", "stream.started"]
    assert mapping.stats.retries == 0, "resolved inside the invocation"


def test_a_failed_record_is_retried_from_where_it_failed_and_nothing_overtakes_it(
    api: Api, aws: AwsResources, mapping: EventSourceMapping, monkeypatch: pytest.MonkeyPatch, no_backoff: None
):
    first = live_stream(api, title="First")
    second = api.create(HOST, title="Second").data["id"]
    third = api.create(HOST, title="Third").data["id"]
    # PutEvents call 1 publishes the first stream; EventBridge refuses the second stream's events on the
    # calls of the first two invocations (4 attempts each: calls 2-5 and 6-9); the third invocation publishes it
    flaky(monkeypatch, lambda entry, call: json.loads(entry["Detail"])["streamId"] == second and call <= 9)
    api.settle()
    mapping.drain()
    events = consumed_events(aws)
    order = [(e["detail"]["streamId"], e["detail-type"]) for e in events]
    assert order == [(s, k) for s in (first, second, third) for k in ("stream.created", "stream.started")], "once each, in order"
    # invocation 1: partial batch response → retry from the second stream (a retry); invocation 2: every
    # record failed, so the function raised → the batch is bisected (no retry spent); both halves succeed
    assert (mapping.stats.invocations, mapping.stats.retries, mapping.stats.bisections) == (4, 1, 1)
    assert mapping.stats.batches_discarded == 0


def test_a_publish_that_keeps_failing_is_retried_then_reaches_the_failure_queue(
    api: Api, aws: AwsResources, mapping: EventSourceMapping, monkeypatch: pytest.MonkeyPatch, no_backoff: None
):
    from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamLambdaOnFailureDestinationModel

    ok = live_stream(api, title="Fine")
    doomed = api.create(HOST, title="Doomed").data["id"]
    client = flaky(monkeypatch, lambda entry, call: json.loads(entry["Detail"])["streamId"] == doomed)
    api.settle()
    mapping.drain()

    retries = template().functions()["StreamEventsFunction"].stream_events[0].max_retries
    assert retries == 5
    doomed_calls = [c for c in client.calls if c[0][1] == doomed]
    assert len(doomed_calls) == (1 + retries) * 4, "every invocation tried PutEvents 4 times"
    assert kinds(consumed_events(aws), ok) == ["stream.created", "stream.started"]
    assert kinds(consumed_events(aws), doomed) == []

    (failure,) = queue_messages(aws, "StreamEventsDeadLetterQueue")
    record = DynamoDBStreamLambdaOnFailureDestinationModel.model_validate(failure)
    assert record.request_context.condition == "RetryAttemptsExhausted"
    assert record.request_context.approximate_invoke_count == 1 + retries
    assert record.ddb_stream_batch_info.batch_size == 1, "the failing record alone (partial batch response)"
    assert record.ddb_stream_batch_info.stream_arn == mapping.stream_arn

    # the record it names is the doomed stream's creation, still readable from the stream for a replay
    streams = boto3.client("dynamodbstreams")
    iterator = streams.get_shard_iterator(
        StreamArn=mapping.stream_arn,
        ShardId=record.ddb_stream_batch_info.shard_id,
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=record.ddb_stream_batch_info.start_sequence_number,
    )["ShardIterator"]
    named = streams.get_records(ShardIterator=iterator, Limit=1)["Records"][0]
    assert named["dynamodb"]["Keys"]["pk"]["S"] == f"STREAM#{doomed}"
    assert named["eventName"] == "INSERT"

    # and the mapping moved on: later changes flow again
    monkeypatch.setattr(client, "refuse", lambda entry, call: False)
    assert api.post(f"/api/v1/live-stream/{ok}/end", user=HOST).status == 200
    api.settle()
    mapping.drain()
    assert kinds(consumed_events(aws), ok) == ["stream.ended"]


def test_the_example_rule_and_its_queue_policy_come_from_the_template(aws: AwsResources):
    events = boto3.client("events")
    (rule,) = events.list_rules(EventBusName=aws.names["EventBus"])["Rules"]
    assert json.loads(rule["EventPattern"])["source"] == ["live-stream"]
    (target,) = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=aws.names["EventBus"])["Targets"]
    assert target["Arn"] == aws.names["StreamEventsExampleQueue.Arn"]
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=aws.names["StreamEventsExampleQueue.QueueName"])["QueueUrl"]
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == rule["Arn"]
