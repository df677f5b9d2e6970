"""Each function runs with what template.yaml gives it and nothing more: its own policy (a permission
removed from it makes its requests fail as in AWS) and its own environment."""

from __future__ import annotations

import pytest

from local import iam
from tests.support import API_TOKEN, as_function, user_id

A, B = user_id(1), user_id(2)


def test_removing_one_needed_permission_fails_the_request_naming_function_and_action(api, aws, capsys):
    api.add_user(A)
    api.add_user(B)
    assert api.put(f"/internal/v1/users/{A}/following/{B}", api_token=API_TOKEN).status == 200
    aws.policies["SyncFollowFunction"] = aws.policy("SyncFollowFunction").without("dynamodb:DeleteItem")

    reply = api.delete(f"/internal/v1/users/{A}/following/{B}", api_token=API_TOKEN)

    assert reply.function == "SyncFollowFunction" and reply.status >= 500 and reply.json["isSuccess"] is False
    expected = f"SyncFollowFunction is not allowed dynamodb:DeleteItem on {aws.names['MainTable.Arn']}"
    assert [str(d) for d in iam.denials] == [expected]
    assert f"[local IAM] {expected}" in capsys.readouterr().err  # what a developer sees in the test output
    iam.denials.clear()  # provoked on purpose: not a finding


def test_with_its_template_policy_the_same_request_succeeds(api):
    api.add_user(A)
    api.add_user(B)
    assert api.put(f"/internal/v1/users/{A}/following/{B}", api_token=API_TOKEN).status == 200
    assert api.delete(f"/internal/v1/users/{A}/following/{B}", api_token=API_TOKEN).status == 200


def test_a_function_cannot_use_another_functions_secret(aws):
    import boto3

    with as_function("SyncFollowFunction"), pytest.raises(boto3.client("secretsmanager").exceptions.ClientError) as refused:
        boto3.client("secretsmanager").get_secret_value(SecretId=aws.names["JwtSecret"])
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert [str(d) for d in iam.denials] == [f"SyncFollowFunction is not allowed secretsmanager:GetSecretValue on {aws.names['JwtSecret']}"]
    iam.denials.clear()


def test_each_function_gets_its_own_template_environment(aws):
    dispatcher, follow = aws.environment("ReminderDispatchFunction"), aws.environment("SyncFollowFunction")
    assert dispatcher["REMINDER_QUEUE_URL"] == aws.names["ReminderQueue"] and dispatcher["TABLE_NAME"] == aws.table()
    assert "REMINDER_QUEUE_URL" not in follow and follow["API_TOKEN_SECRET_NAME"] == aws.names["ApiTokenSecret"]
    assert follow["API_TOKEN_SECRET_NAME"].startswith("arn:aws:secretsmanager:")  # Ref of a secret is its ARN, as in CloudFormation


def test_a_variable_the_function_was_not_given_fails_with_a_clear_message(aws):
    from livestream.settings import MissingSetting, get_settings

    with as_function("SyncFollowFunction"):
        settings = get_settings()
        assert settings.api_token_secret_name == aws.names["ApiTokenSecret"]
        with pytest.raises(MissingSetting, match="SyncFollowFunction reads REMINDER_QUEUE_URL but its environment has no such variable"):
            _ = settings.reminder_queue_url
