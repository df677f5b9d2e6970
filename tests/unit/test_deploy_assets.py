"""`make deploy`'s own steps: guided or plain `sam deploy`, and the default thumbnail's upload (in moto)."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from tools import deploy_assets
from tools.deploy_assets import DEFAULT_THUMBNAIL, DEFAULT_THUMBNAIL_KEY, answered, stack_outputs, upload_default_thumbnail


def test_the_committed_samconfig_asks_the_guided_questions_first():
    assert answered("default") is False and answered("prod") is False


def test_saved_guided_answers_make_a_plain_deploy(tmp_path):
    config = tmp_path / "samconfig.toml"
    config.write_text(
        'version = 0.1\n[default.global.parameters]\nstack_name = "live-stream"\n'
        '[default.deploy.parameters]\nregion = "eu-west-1"\n'
        'parameter_overrides = "Stage=\\"dev\\" AlarmEmail=\\"ops@example.org\\" SnapStart=\\"Disabled\\""\n'
    )
    assert answered("default", config) is True and answered("prod", config) is False
    assert deploy_assets.deploy_parameters("default", config) == {
        "stack_name": "live-stream",
        "region": "eu-west-1",
        "parameter_overrides": 'Stage="dev" AlarmEmail="ops@example.org" SnapStart="Disabled"',
    }


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield


def test_the_default_thumbnail_is_uploaded_once(aws):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="thumbs")
    assert upload_default_thumbnail(s3, "thumbs") is True
    stored = s3.get_object(Bucket="thumbs", Key=DEFAULT_THUMBNAIL_KEY)
    assert stored["Body"].read() == DEFAULT_THUMBNAIL.read_bytes()
    assert stored["ContentType"] == "image/png" and "max-age" in stored["CacheControl"]
    assert upload_default_thumbnail(s3, "thumbs") is False  # same bytes: nothing to upload, nothing to invalidate

    s3.put_object(Bucket="thumbs", Key=DEFAULT_THUMBNAIL_KEY, Body=b"an older image")
    assert upload_default_thumbnail(s3, "thumbs") is True


def test_the_stack_outputs_name_the_bucket(aws):
    template = """
Resources:
  ThumbnailBucket: {Type: AWS::S3::Bucket}
Outputs:
  ThumbnailBucketName: {Value: !Ref ThumbnailBucket}
"""
    cloudformation = boto3.client("cloudformation")
    cloudformation.create_stack(StackName="live-stream", TemplateBody=template)
    bucket = stack_outputs(cloudformation, "live-stream")["ThumbnailBucketName"]
    assert bucket in {b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]}
