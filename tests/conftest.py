"""Shared fixtures: an in-process AWS (moto) built from template.yaml, and API Gateway events
delivered to the functions exactly as template.yaml routes them."""

from __future__ import annotations

import os

# The layer reads its configuration from the environment, as in Lambda; set it before any import.
os.environ.update(
    {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "LiveStreamTest",
        "POWERTOOLS_SERVICE_NAME": "live-stream",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)

import moto  # noqa: F401  - imported before any boto3 client is created, so the mock reaches them
import pytest

from local import moto_dynamodb
from tests.support import Api, AwsResources

moto_dynamodb.install()  # the local stack's DynamoDB: a transaction copies and restores only the items it writes


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):
    """A fresh mocked AWS holding the template's tables, bucket and secrets, with the functions'
    environment pointing at them."""
    from moto import mock_aws

    with mock_aws():
        resources = AwsResources.create(monkeypatch)
        yield resources


@pytest.fixture
def api(aws: AwsResources) -> Api:
    return Api(aws)
