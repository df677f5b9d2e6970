"""The local DynamoDB stream event source mapping behaves as Lambda's: batches, filters, starting
position, bisecting, partial batch responses, retries, and the on-failure destination."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.cfn import StreamEvent
from local.streams import EventSourceMapping, patch_moto_streams, trim_consumed

POISON = "poison"


@pytest.fixture
def aws():
    patch_moto_streams()
    with mock_aws():
        ddb = boto3.client("dynamodb")
        ddb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        sqs = boto3.client("sqs")
        sqs.create_queue(QueueName="dlq")
        yield ddb


class Function:
    """A stand-in for a mapped function: records each batch it gets, fails on the poison record."""

    def __init__(self, *, partial: bool = False, answer: Any = None) -> None:
        self.batches: list[list[str]] = []
        self.partial, self.answer = partial, answer

    def __call__(self, name: str, event: dict[str, Any]) -> tuple[str, Any]:
        keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]
        self.batches.append(keys)
        if self.answer is not None:
            return "ok", self.answer(event["Records"])
        if POISON not in keys:
            return "ok", {"batchItemFailures": []}
        if self.partial:
            failed = event["Records"][keys.index(POISON)]["dynamodb"]["SequenceNumber"]
            return "ok", {"batchItemFailures": [{"itemIdentifier": failed}]}
        return "error", "Traceback: the poison record"


def mapping(function: Function, **properties: Any) -> EventSourceMapping:
    stream_arn = boto3.client("dynamodb").describe_table(TableName="t")["Table"]["LatestStreamArn"]
    event = StreamEvent("Stream", "T", {"StartingPosition": "TRIM_HORIZON", **properties})
    return EventSourceMapping("Fn", event, stream_arn, function, boto3.client, "arn:aws:sqs:us-east-1:123456789012:dlq", retry_delay=0)


def put(*keys: str) -> None:
    for key in keys:
        boto3.client("dynamodb").put_item(TableName="t", Item={"pk": {"S": key}})


def failures() -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="dlq")["QueueUrl"]
    return [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])]


def test_batches_of_the_configured_size_in_stream_order(aws):
    function = Function()
    put(*"abcdefg")
    mapping(function, BatchSize=3).drain()
    assert function.batches == [["a", "b", "c"], ["d", "e", "f"], ["g"]]
    assert function.batches[0][0] == "a"


def test_lambda_records_carry_the_stream_arn_and_epoch_seconds(aws):
    seen = []
    function = Function(answer=lambda records: seen.extend(records))
    put("a")
    esm = mapping(function)
    esm.drain()
    (record,) = seen
    assert record["eventSourceARN"] == esm.stream_arn
    assert record["eventName"] == "INSERT"
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], float)
    assert record["dynamodb"]["NewImage"] == {"pk": {"S": "a"}}


def test_filter_criteria_drop_records_before_batching(aws):
    function = Function()
    put("keep-1", "drop", "keep-2")
    esm = mapping(function, FilterCriteria={"Filters": [{"Pattern": json.dumps({"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "keep"}]}}}})}]})
    esm.drain()
    assert function.batches == [["keep-1", "keep-2"]]
    assert esm.stats.records_filtered == 1


def test_latest_starts_after_what_the_stream_already_holds(aws):
    function = Function()
    put("old")
    esm = mapping(function, StartingPosition="LATEST")
    put("new")
    esm.drain()
    assert function.batches == [["new"]]


def test_a_batching_window_waits_for_more_records(aws):
    function = Function()
    put("a")
    esm = mapping(function, BatchSize=10, MaximumBatchingWindowInSeconds=60)
    assert esm.poll() == 0 and function.batches == [], "one record waits for the window"
    put(*"bcdefghij")
    assert esm.poll() == 10, "a full batch goes at once"
    assert function.batches == [list("abcdefghij")]


def test_bisecting_isolates_a_poison_record_and_sends_it_alone_to_the_destination(aws):
    function = Function()
    put("a", "b", POISON, "d")
    esm = mapping(function, BisectBatchOnFunctionError=True, MaximumRetryAttempts=2)
    esm.drain()
    assert function.batches[:3] == [["a", "b", POISON, "d"], ["a", "b"], [POISON, "d"]]
    assert function.batches[3:] == [[POISON]] * 3 + [["d"]], "split down to the poison record, which then gets 1 + 2 retries"
    (failure,) = failures()
    info = failure["DDBStreamBatchInfo"]
    assert (info["batchSize"], failure["requestContext"]["condition"]) == (1, "RetryAttemptsExhausted")
    assert failure["requestContext"]["approximateInvokeCount"] == 5  # the whole batch, its half, then 3 alone
    assert failure["responseContext"]["functionError"] == "Unhandled"
    assert info["startSequenceNumber"] == info["endSequenceNumber"]


def test_without_bisect_the_whole_batch_is_retried_then_skipped(aws):
    function = Function()
    put("a", POISON)
    put("after")
    esm = mapping(function, BatchSize=2, MaximumRetryAttempts=1)
    esm.drain()
    assert function.batches == [["a", POISON], ["a", POISON], ["after"]]
    (failure,) = failures()
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 2


def test_a_partial_batch_response_checkpoints_before_the_failed_record(aws):
    function = Function(partial=True)
    put("a", "b", POISON, "d")
    esm = mapping(function, FunctionResponseTypes=["ReportBatchItemFailures"], MaximumRetryAttempts=1)
    esm.drain()
    assert function.batches == [["a", "b", POISON, "d"], [POISON, "d"]]
    (failure,) = failures()
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 2
    assert "functionError" not in failure["responseContext"]
    assert esm.stats.records_delivered == 2


def test_without_report_batch_item_failures_the_answer_is_ignored(aws):
    function = Function(partial=True)
    put("a", POISON)
    mapping(function, MaximumRetryAttempts=1).drain()
    assert function.batches == [["a", POISON]]
    assert failures() == []


@pytest.mark.parametrize(
    "answer",
    [{"batchItemFailures": [{"itemIdentifier": ""}]}, {"batchItemFailures": [{"itemIdentifier": "42"}]}, {"batchItemFailures": [{"id": "1"}]}],
)
def test_a_malformed_item_failure_fails_the_whole_batch(aws, answer):
    function = Function(answer=lambda records: answer)
    put("a", "b")
    mapping(function, FunctionResponseTypes=["ReportBatchItemFailures"], MaximumRetryAttempts=1).drain()
    assert function.batches == [["a", "b"], ["a", "b"]]
    assert failures()[0]["DDBStreamBatchInfo"]["batchSize"] == 2


@pytest.mark.parametrize("answer", [None, {}, {"batchItemFailures": None}, {"batchItemFailures": []}])
def test_an_empty_or_null_response_is_success(aws, answer):
    function = Function(answer=lambda records: answer)
    put("a")
    mapping(function, FunctionResponseTypes=["ReportBatchItemFailures"], MaximumRetryAttempts=0).drain()
    assert function.batches == [["a"]]
    assert failures() == []


def test_records_older_than_the_maximum_age_are_skipped_to_the_destination(aws):
    function = Function()
    put("a")
    esm = mapping(function, MaximumRecordAgeInSeconds=0)
    import time

    time.sleep(1.1)
    esm.drain()
    assert function.batches == []
    assert failures()[0]["requestContext"]["condition"] == "RecordAgeExceeded"


def test_a_cancelled_transaction_leaves_no_records_and_later_writes_are_still_read(aws):
    """moto rolls a cancelled transaction back by restoring the table, stream included."""
    ddb = aws
    function = Function()
    esm = mapping(function)
    put("a")
    esm.drain()
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "b"}}}},
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "a"}}, "ConditionExpression": "attribute_not_exists(pk)"}},
            ]
        )
    put("c")
    esm.drain()
    assert function.batches == [["a"], ["c"]]


def test_a_transaction_snapshot_shares_the_stream_records_instead_of_copying_them(aws):
    import copy

    from moto.dynamodb.models import dynamodb_backends

    put(*"abc")
    table = dynamodb_backends["123456789012"]["us-east-1"].tables["t"]
    snapshot = copy.deepcopy(table)
    assert snapshot.stream_shard.items == table.stream_shard.items
    assert snapshot.stream_shard.items is not table.stream_shard.items
    assert all(a is b for a, b in zip(snapshot.stream_shard.items, table.stream_shard.items, strict=True))
    assert snapshot.stream_shard.table is snapshot


def test_records_every_mapping_is_done_with_are_trimmed_and_numbering_continues(aws):
    import threading

    from moto.dynamodb.models import dynamodb_backends

    shard = dynamodb_backends["123456789012"]["us-east-1"].tables["t"].stream_shard
    first, second = Function(), Function()
    fast, slow = mapping(first), mapping(second)
    lock = threading.Lock()
    put("a", "b")
    fast.drain()
    assert trim_consumed([fast, slow], lock) == 0, "a mapping that has read nothing holds everything"
    slow.drain()
    assert trim_consumed([fast, slow], lock) == 2 and shard.items == []
    put("c")
    fast.drain()
    assert trim_consumed([fast, slow], lock) == 0, "the slow mapping has not read c"
    put("d")
    fast.drain()
    slow.drain()
    assert trim_consumed([fast, slow], lock) == 2 and shard.items == []
    put("e")
    fast.drain()
    slow.drain()
    assert first.batches == [["a", "b"], ["c"], ["d"], ["e"]]
    assert second.batches == [["a", "b"], ["c", "d"], ["e"]]


def test_latest_on_an_empty_stream_starts_with_the_next_record(aws):
    function = Function()
    esm = mapping(function, StartingPosition="LATEST")
    put("x")
    esm.drain()
    assert function.batches == [["x"]]
