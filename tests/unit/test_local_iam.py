"""The local IAM check: policies expanded by the SAM translator, what each AWS call needs, and the
refusal a function gets for a call its policy does not allow."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from local import iam
from local.cfn import Template
from local.emulation import physical_names

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/T"


def policy(*statements: dict) -> iam.Policy:
    return iam.Policy("F", [iam.Statement.parse(s) for s in statements])


def test_wildcards_deny_and_not_action():
    p = policy(
        {"Effect": "Allow", "Action": ["dynamodb:Get*", "s3:PutObject"], "Resource": [TABLE, "arn:aws:s3:::b/thumbs/*"]},
        {"Effect": "Deny", "Action": "dynamodb:GetRecords", "Resource": "*"},
        {"Effect": "Allow", "NotAction": "sqs:*", "Resource": "arn:aws:events:*:*:event-bus/?us"},
    )
    assert p.allows("dynamodb:GetItem", TABLE) and p.allows("DynamoDB:getitem", TABLE)  # actions are case-insensitive
    assert not p.allows("dynamodb:GetItem", TABLE + "/index/I")  # an index is a resource of its own
    assert not p.allows("dynamodb:GetRecords", TABLE)  # an explicit Deny wins
    assert p.allows("s3:PutObject", "arn:aws:s3:::b/thumbs/a/b.png") and not p.allows("s3:PutObject", "arn:aws:s3:::b/other")
    assert not p.allows("s3:putobject", "arn:aws:s3:::B/thumbs/x")  # resources are case-sensitive
    assert p.allows("events:PutEvents", "arn:aws:events:us-east-1:1:event-bus/bus")
    assert not p.allows("sqs:SendMessage", "arn:aws:events:us-east-1:1:event-bus/bus")
    assert not p.allows("dynamodb:PutItem", TABLE)  # nothing allows it: denied by default


def test_conditions_are_refused_rather_than_ignored():
    with pytest.raises(iam.PolicyError, match="Condition"):
        iam.Statement.parse({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}})


def test_what_each_call_needs():
    transact = {
        "TransactItems": [
            {"Put": {"TableName": "T", "Item": {}}},
            {"Update": {"TableName": "T", "Key": {}}},
            {"Delete": {"TableName": "U", "Key": {}}},
            {"ConditionCheck": {"TableName": "T", "Key": {}}},
        ]
    }
    assert iam.required("dynamodb", "TransactWriteItems", transact) == [
        ("dynamodb:PutItem", TABLE),
        ("dynamodb:UpdateItem", TABLE),
        ("dynamodb:DeleteItem", "arn:aws:dynamodb:us-east-1:123456789012:table/U"),
        ("dynamodb:ConditionCheckItem", TABLE),
    ]
    assert iam.required("dynamodb", "TransactGetItems", {"TransactItems": [{"Get": {"TableName": "T"}}]}) == [("dynamodb:GetItem", TABLE)]
    assert iam.required("dynamodb", "BatchGetItem", {"RequestItems": {"T": {}}}) == [("dynamodb:BatchGetItem", TABLE)]
    assert iam.required("dynamodb", "Query", {"TableName": "T", "IndexName": "I"}) == [("dynamodb:Query", TABLE + "/index/I")]
    assert iam.required("s3", "PutObject", {"Bucket": "b", "Key": "k/1.png"}) == [("s3:PutObject", "arn:aws:s3:::b/k/1.png")]
    assert iam.required("s3", "ListObjectsV2", {"Bucket": "b"}) == [("s3:ListBucket", "arn:aws:s3:::b")]
    assert iam.required("sqs", "SendMessageBatch", {"QueueUrl": "http://127.0.0.1:5055/123456789012/q.fifo"}) == [
        ("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:q.fifo")
    ]
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:s"
    assert iam.required("secretsmanager", "GetSecretValue", {"SecretId": "s"}, {"s": secret}) == [("secretsmanager:GetSecretValue", secret)]
    assert iam.required("events", "PutEvents", {"Entries": [{"EventBusName": "bus"}, {}]}) == [
        ("events:PutEvents", "arn:aws:events:us-east-1:123456789012:event-bus/bus"),
        ("events:PutEvents", "arn:aws:events:us-east-1:123456789012:event-bus/default"),
    ]


def test_the_template_policies_as_the_sam_translator_expands_them():
    template = Template.load(Stage="local")
    names = physical_names(template, "http://127.0.0.1:5055")
    policies = iam.function_policies(template, names)
    assert set(policies) == set(template.functions())
    table = names["MainTable.Arn"]
    follow = policies["SyncFollowFunction"]
    assert follow.allows("dynamodb:PutItem", table) and follow.allows("dynamodb:DeleteItem", table)
    assert follow.allows("secretsmanager:GetSecretValue", names["ApiTokenSecret"])
    assert not follow.allows("secretsmanager:GetSecretValue", names["JwtSecret"])
    assert not policies["ApiDocsFunction"].allows("dynamodb:GetItem", table)
    create = policies["CreateStreamFunction"]
    bucket = names["ThumbnailBucket.Arn"]
    assert create.allows("s3:PutObject", f"{bucket}/thumbnails/x.png") and create.allows("s3:DeleteObject", f"{bucket}/thumbnails/x.png")
    assert not create.allows("s3:PutObjectAcl", f"{bucket}/thumbnails/x.png") and not create.allows("s3:PutLifecycleConfiguration", bucket)
    queue = names["ReminderQueue.Arn"]
    assert policies["ReminderDispatchFunction"].allows("sqs:SendMessage", queue)
    assert not policies["DeleteReminderFunction"].allows("sqs:SendMessage", queue)
    for name, p in policies.items():  # least privilege: nobody scans, only the search index batch-writes, read-only endpoints only read
        assert not p.allows("dynamodb:Scan", table), name
        # AudienceSearchFunction (off the request path) writes its index entries as final states, unconditionally:
        # BatchWriteItem's 25 puts/deletes a call grant nothing PutItem and DeleteItem would not
        assert p.allows("dynamodb:BatchWriteItem", table) is (name == "AudienceSearchFunction"), name
    for name in (
        "GetStreamFunction",
        "ListViewersFunction",
        "UpcomingV1Function",
        "UpcomingV2Function",
        "ListLiveEventsFunction",
    ):
        for action in ("PutItem", "UpdateItem", "DeleteItem"):
            assert not policies[name].allows(f"dynamodb:{action}", table), (name, action)


def test_a_refused_call_raises_access_denied_to_the_function_and_names_it(aws, capsys):
    """A real boto3 client under moto: the refusal is botocore's modelled error, raised before the call reaches moto."""
    ddb = boto3.client("dynamodb")
    p = policy({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": f"arn:aws:dynamodb:us-east-1:123456789012:table/{aws.table()}"})
    key = {"pk": {"S": "a"}, "sk": {"S": "b"}}
    with iam.acting_as(p):
        ddb.get_item(TableName=aws.table(), Key=key)
        with pytest.raises(ClientError) as refused:
            ddb.put_item(TableName=aws.table(), Item=key)
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "F is not allowed dynamodb:PutItem on arn:aws:dynamodb:us-east-1:123456789012:table/test-MainTable" in str(refused.value)
    assert "[local IAM] F is not allowed dynamodb:PutItem" in capsys.readouterr().err
    assert [str(d) for d in iam.denials] == [f"F is not allowed dynamodb:PutItem on arn:aws:dynamodb:us-east-1:123456789012:table/{aws.table()}"]
    iam.denials.clear()
    assert "Item" not in ddb.get_item(TableName=aws.table(), Key=key)  # the refused write never reached the table
