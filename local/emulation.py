"""The embedded AWS: moto in server mode, and the template's resources created in it.

Physical names are deterministic (``live-stream-local-<LogicalId>``), so ``make invoke`` can find the
resources a running ``make run`` created without asking it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import partial
from typing import Any

import boto3
from botocore.exceptions import ClientError

from local.cfn import ACCOUNT, REGION, Service, Template
from local.eventbridge import create_event_resources, event_names
from tools.deploy_assets import CACHE_CONTROL, DEFAULT_THUMBNAIL, DEFAULT_THUMBNAIL_KEY

PREFIX = "live-stream-local"
DEV_DEFAULTS = {
    "LOCAL_JWT_SECRET": "local-dev-jwt-secret",
    "LOCAL_API_TOKEN": "local-dev-api-token",
    "AGORA_APP_ID": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "AGORA_APP_CERTIFICATE": "5c3a1f0e9d8b7a6f5e4d3c2b1a0f9e8d",
    "AGORA_NOTIFICATION_SECRET": "local-dev-agora-ncs-secret",
}
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": REGION}


def dev_setting(name: str) -> str:
    return os.environ.get(name) or DEV_DEFAULTS[name]


def secret_values() -> dict[str, str]:
    """What each secret of the template holds locally: the documented development defaults (README)."""
    return {
        "JwtSecret": dev_setting("LOCAL_JWT_SECRET"),
        "ApiTokenSecret": dev_setting("LOCAL_API_TOKEN"),
        "AgoraSecret": json.dumps({"appId": dev_setting("AGORA_APP_ID"), "appCertificate": dev_setting("AGORA_APP_CERTIFICATE")}),
        "AgoraNotificationSecret": dev_setting("AGORA_NOTIFICATION_SECRET"),
    }


def physical_names(template: Template, endpoint: str, prefix: str = PREFIX) -> dict[str, str]:
    """Logical id (and ``<id>.<attribute>``) → the local value a ``Ref`` / ``GetAtt`` resolves to.

    As in CloudFormation, ``Ref`` of a secret is its ARN (``<id>.Name`` is its name; a partial ARN,
    without the random suffix AWS adds, which Secrets Manager and moto both accept)."""
    names: dict[str, str] = {}
    for logical in template.resources("AWS::DynamoDB::Table"):
        names[logical] = f"{prefix}-{logical}"
        names[f"{logical}.Arn"] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{names[logical]}"
    for logical in template.resources("AWS::S3::Bucket"):
        names[logical] = f"{prefix}-{logical}".lower()
        names[f"{logical}.Arn"] = f"arn:aws:s3:::{names[logical]}"
    for logical in template.resources("AWS::SecretsManager::Secret"):
        names[f"{logical}.Name"] = f"{prefix}-{logical}"
        names[logical] = names[f"{logical}.Id"] = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{names[f'{logical}.Name']}"
    for logical, res in template.resources("AWS::SQS::Queue").items():
        name = f"{prefix}-{logical}" + (".fifo" if res["Properties"].get("FifoQueue") else "")
        names[logical] = f"{endpoint}/{ACCOUNT}/{name}"
        names[f"{logical}.QueueName"] = name
        names[f"{logical}.Arn"] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
    for logical in template.functions():
        names[logical] = logical
    for logical in template.resources("AWS::Serverless::LayerVersion"):
        names[logical] = logical
    for logical in template.resources("AWS::Logs::LogGroup"):
        names[logical] = logical
    names.update(event_names(template, prefix))
    for logical in template.resources("AWS::CloudFront::Distribution"):
        # no CloudFront locally: function_environment points URLs under this domain at the local gateway
        names[logical] = f"{prefix}-{logical}"
        names[f"{logical}.DomainName"] = f"{logical.lower()}.{prefix}.cloudfront.invalid"
    return names


def client(service: Service, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="local", aws_secret_access_key="local")


def create_resources(template: Template, endpoint: str) -> dict[str, str]:
    """Create the template's tables, buckets, queues and secrets in the emulation (idempotent)."""
    names = physical_names(template, endpoint)
    _create_tables(template, names, client("dynamodb", endpoint))
    _create_buckets(template, names, client("s3", endpoint))
    _create_queues(template, names, client("sqs", endpoint))
    _create_secrets(template, names, client("secretsmanager", endpoint))
    create_event_resources(template, names, lambda service: client(service, endpoint))
    return names


def _create_tables(template: Template, names: dict[str, str], ddb: Any) -> None:
    for logical, res in template.resources("AWS::DynamoDB::Table").items():
        props = res["Properties"]
        request: dict[str, Any] = {
            "TableName": names[logical],
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            request["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if props.get("StreamSpecification"):
            request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        _ignore_existing(partial(ddb.create_table, **request))
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            ddb.update_time_to_live(TableName=names[logical], TimeToLiveSpecification=ttl)


def _create_buckets(template: Template, names: dict[str, str], s3: Any) -> None:
    for logical in template.resources("AWS::S3::Bucket"):
        _ignore_existing(partial(s3.create_bucket, Bucket=names[logical]))
    if "ThumbnailBucket" in names:  # what `make deploy` uploads after `sam deploy`
        s3.put_object(
            Bucket=names["ThumbnailBucket"],
            Key=DEFAULT_THUMBNAIL_KEY,
            Body=DEFAULT_THUMBNAIL.read_bytes(),
            ContentType="image/png",
            CacheControl=CACHE_CONTROL,
        )


def _create_queues(template: Template, names: dict[str, str], sqs: Any) -> None:
    queues = template.resources("AWS::SQS::Queue")
    for logical, res in queues.items():  # every queue first: a redrive policy names another queue
        attributes = {}
        if res["Properties"].get("FifoQueue"):
            attributes["FifoQueue"] = "true"
            attributes["ContentBasedDeduplication"] = str(bool(res["Properties"].get("ContentBasedDeduplication"))).lower()
        sqs.create_queue(QueueName=names[f"{logical}.QueueName"], Attributes=attributes)
    for logical, res in queues.items():
        if "RedrivePolicy" in res["Properties"]:
            policy = json.dumps(template.resolve(res["Properties"]["RedrivePolicy"], names))
            sqs.set_queue_attributes(QueueUrl=names[logical], Attributes={"RedrivePolicy": policy})


def _create_secrets(template: Template, names: dict[str, str], sm: Any) -> None:
    values = secret_values()
    for logical in template.resources("AWS::SecretsManager::Secret"):
        try:
            sm.create_secret(Name=names[f"{logical}.Name"], SecretString=values[logical])
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceExistsException":
                raise
            sm.put_secret_value(SecretId=names[logical], SecretString=values[logical])


def _ignore_existing(create: Callable[[], object]) -> None:
    try:
        create()
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("ResourceInUseException", "BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


THUMBNAILS_PATH = "/_local/thumbnails"


def function_environment(template: Template, name: str, endpoint: str, api_url: str) -> dict[str, str]:
    """The environment Lambda would give the function, pointed at the local emulation; what is public
    under the CloudFront distribution's domain is public at ``<api_url>/_local/thumbnails/<key>`` (the
    local gateway reads it from the bucket, as the distribution in front of the private bucket does)."""
    names = physical_names(template, endpoint)
    env = template.functions()[name].environment(names)
    for logical in template.resources("AWS::CloudFront::Distribution"):
        cdn = f"https://{names[f'{logical}.DomainName']}"
        env = {k: api_url + THUMBNAILS_PATH + v[len(cdn) :] if v.startswith(cdn) else v for k, v in env.items()}
    function = template.functions()[name]
    env.update(CREDENTIALS)
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_LAMBDA_FUNCTION_NAME=name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(function.memory),
        AWS_LAMBDA_FUNCTION_TIMEOUT=str(function.timeout),
        LAMBDA_TASK_ROOT=str(function.code_dir),
        AWS_LAMBDA_INITIALIZATION_TYPE="on-demand",  # set by Lambda; the layer pauses the collector during init
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_METRICS_DISABLED="true",
        POWERTOOLS_DEV="false",
    )
    return env


class MotoServer:
    """moto's server app on loopback, threaded, with DynamoDB requests served one at a time.

    moto applies a transaction item by item and undoes a cancelled one by putting back the items it
    wrote (``local.moto_dynamodb``), so a request served meanwhile could see or overwrite a
    transaction's partial writes. DynamoDB itself isolates every request (transactions are
    serializable); serializing them here keeps that promise, so the concurrency tests exercise our
    conditions, not moto's races.
    """

    def __init__(self, port: int) -> None:
        import logging
        import threading

        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        from local import moto_dynamodb

        moto_dynamodb.install()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        app = DomainDispatcherApplication(create_backend_app)
        lock = self.lock = threading.Lock()  # also taken by the stream trimmer (local/streams.py)

        def serialized(environ: dict[str, Any], start_response: Any) -> Any:
            if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
                with lock:
                    return list(app(environ, start_response))
            return app(environ, start_response)

        self._server = make_server("127.0.0.1", port, serialized, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def start_moto(port: int) -> MotoServer:
    return MotoServer(port)
