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

from local import iam, moto_dynamodb

iam.install()  # every botocore client from here on is checked against the calling function's policy

from tests.support import Api, AwsResources  # noqa: E402

moto_dynamodb.install()  # the local stack's DynamoDB: a transaction copies and restores only the items it writes


@pytest.fixture
def aws():
    """A fresh mocked AWS holding the template's tables, bucket and secrets; each function called
    through it gets its own template environment and policy pointing at them."""
    from moto import mock_aws

    # an environment patch of its own: a test's monkeypatch.undo() must not take it away
    with mock_aws(), pytest.MonkeyPatch.context() as environment:
        resources = AwsResources.create(environment)
        yield resources
        resources.close()


@pytest.fixture(autouse=True)
def _no_access_denied():
    """A function refused by its template policy fails the test, naming the function, the action
    and the resource (a test that means to provoke a refusal takes them out of ``iam.denials``)."""
    iam.denials.clear()
    yield
    found, iam.denials[:] = list(iam.denials), []
    if found:
        pytest.fail("template.yaml does not allow what the code calls:\n" + "\n".join(f"  {d}" for d in found), pytrace=False)


@pytest.fixture
def api(aws: AwsResources) -> Api:
    return Api(aws)
