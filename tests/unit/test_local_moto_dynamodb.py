"""The local DynamoDB (moto, patched by ``local.moto_dynamodb``): a transaction copies and restores only
the items it writes, all or nothing, and replaced item versions are freed."""

from __future__ import annotations

import copy
import gc
import weakref

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from local import moto_dynamodb

TABLE = "t"


@pytest.fixture
def ddb():
    moto_dynamodb.install()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        yield client


def backend_table():
    return dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tables[TABLE]


def key(pk: str, sk: str = "A") -> dict:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def fill(client, n: int) -> None:
    for start in range(0, n, 25):
        batch = [{"PutRequest": {"Item": {**key(f"P{i}"), "n": {"N": str(i)}}}} for i in range(start, min(n, start + 25))]
        client.batch_write_item(RequestItems={TABLE: batch})


def everything(client) -> list[dict]:
    items, page = [], {}
    while True:
        reply = client.scan(TableName=TABLE, ConsistentRead=True, **page)
        items += reply["Items"]
        if "LastEvaluatedKey" not in reply:
            return sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))
        page = {"ExclusiveStartKey": reply["LastEvaluatedKey"]}


def cancelled_transaction(client) -> list[str]:
    """Put a new item, update and delete existing ones, then fail a condition: nothing may stick."""
    ops = [
        {"Put": {"TableName": TABLE, "Item": {**key("NEW"), "n": {"N": "1"}}}},
        {
            "Update": {
                "TableName": TABLE,
                "Key": key("P1"),
                "UpdateExpression": "SET n = :v, extra = :v",
                "ExpressionAttributeValues": {":v": {"N": "9"}},
            }
        },
        {"Delete": {"TableName": TABLE, "Key": key("P2")}},
        {"Put": {"TableName": TABLE, "Item": {**key("P3", "B"), "n": {"N": "3"}}}},  # a new item in an existing partition
        {"ConditionCheck": {"TableName": TABLE, "Key": key("P0"), "ConditionExpression": "attribute_not_exists(pk)"}},
    ]
    with pytest.raises(ClientError) as caught:
        client.transact_write_items(TransactItems=ops)
    assert caught.value.response["Error"]["Code"] == "TransactionCanceledException"
    return [r["Code"] for r in caught.value.response["CancellationReasons"]]


def test_a_cancelled_transaction_restores_exactly_the_items_it_wrote(ddb):
    fill(ddb, 300)
    before = everything(ddb)
    table = backend_table()
    records = len(table.stream_shard.items)

    reasons = cancelled_transaction(ddb)

    assert reasons == ["None", "None", "None", "None", "ConditionalCheckFailed"]
    assert everything(ddb) == before  # the new items gone, the updated and deleted ones as they were, the rest untouched
    assert backend_table() is table  # the table itself stays (moto used to swap in a copy)
    assert len(table.stream_shard.items) == records  # no stream record of writes that never happened
    assert "NEW" not in {h.value for h in table.items}  # no empty partition left behind


def test_a_committed_transaction_applies_every_write(ddb):
    fill(ddb, 10)
    ddb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": {**key("NEW"), "n": {"N": "1"}}, "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Update": {"TableName": TABLE, "Key": key("P1"), "UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}},
            {"Delete": {"TableName": TABLE, "Key": key("P2"), "ConditionExpression": "attribute_exists(pk)"}},
        ]
    )
    by_pk = {i["pk"]["S"]: i for i in everything(ddb)}
    assert by_pk["NEW"]["n"] == {"N": "1"} and by_pk["P1"]["n"] == {"N": "2"} and "P2" not in by_pk and len(by_pk) == 10


def test_conditions_see_the_state_before_the_transaction_and_failures_name_the_item(ddb):
    fill(ddb, 3)
    with pytest.raises(ClientError) as caught:
        ddb.transact_write_items(
            TransactItems=[
                {"Delete": {"TableName": TABLE, "Key": key("P0")}},
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": {**key("P1"), "n": {"N": "5"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ]
        )
    reasons = caught.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed"]
    assert reasons[1]["Item"] == {**key("P1"), "n": {"N": "1"}}
    assert len(everything(ddb)) == 3  # the delete of P0 was undone


def test_two_writes_to_one_item_are_refused_and_leave_nothing_behind(ddb):
    fill(ddb, 3)
    before = everything(ddb)
    with pytest.raises(ClientError) as caught:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": {**key("NEW"), "n": {"N": "1"}}}},
                {"Update": {"TableName": TABLE, "Key": key("P1"), "UpdateExpression": "SET n = :v", "ExpressionAttributeValues": {":v": {"N": "7"}}}},
                {"Delete": {"TableName": TABLE, "Key": key("P1")}},
            ]
        )
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert everything(ddb) == before


def deepcopies_of_a_cancelled_transaction(client, monkeypatch) -> int:
    calls = 0
    real = copy.deepcopy

    def counting(value, memo=None, _nil=None):
        nonlocal calls
        calls += 1
        return real(value, memo)

    with monkeypatch.context() as m:
        m.setattr(copy, "deepcopy", counting)  # the copy module's own recursion goes through it too
        cancelled_transaction(client)
    return calls


def test_a_transaction_costs_the_same_on_a_small_and_a_large_table(ddb, monkeypatch):
    fill(ddb, 10)
    small = deepcopies_of_a_cancelled_transaction(ddb, monkeypatch)
    fill(ddb, 3000)
    large = deepcopies_of_a_cancelled_transaction(ddb, monkeypatch)
    assert 0 < small == large  # copies of the written items only, however many the table holds


def test_replaced_item_versions_are_freed(ddb):
    fill(ddb, 3)
    table = backend_table()
    partition = next(h for h in table.items if h.value == "P1")
    first = weakref.ref(table.items[partition][next(iter(table.items[partition]))])
    for n in range(5):
        ddb.put_item(TableName=TABLE, Item={**key("P1"), "n": {"N": str(n)}})
        ddb.update_item(TableName=TABLE, Key=key("P1"), UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": {"N": "1"}})
        cancelled_transaction(ddb)
    table.stream_shard.items.clear()  # the stream keeps old images by design
    gc.collect()
    assert first() is None  # nothing (moto's instance registry included) holds the first version any more


def test_stream_records_written_from_several_threads_get_distinct_ordered_sequence_numbers():
    """moto numbered a record ``len(records) + start`` before appending it: concurrent writers (the search
    index function's thread pool, in-process) got equal numbers, and a stream reader looped on them."""
    import sys
    from concurrent.futures import ThreadPoolExecutor

    import boto3
    from moto import mock_aws
    from moto.dynamodb.models import dynamodb_backends

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST", StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )  # fmt: skip
        switching = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)  # threads switch as often as they can: the race shows on every run
        try:
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(lambda n: client.put_item(TableName="t", Item={"pk": {"S": str(n)}}), range(400)))
        finally:
            sys.setswitchinterval(switching)
        shard = dynamodb_backends["123456789012"]["us-east-1"].tables["t"].stream_shard
        numbers = [int(record.record["dynamodb"]["SequenceNumber"]) for record in shard.items]
        assert len(numbers) == 400 and numbers == sorted(set(numbers))
