"""Test support: template.yaml's resources created in moto, and an API client that builds real
API Gateway REST proxy events and hands them to the function template.yaml maps to the route."""

from __future__ import annotations

import base64
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Optional
from urllib.parse import urlencode

import boto3

from local import iam
from local.cfn import Template
from local.emulation import physical_names
from local.routing import Match, Route, Router, proxy_event
from local.workers import LambdaContext

JWT_SECRET = "test-jwt-secret-that-is-long-enough-for-hs256"
API_TOKEN = "test-api-token"
# A real 1×1 PNG (made with Pillow: it decodes, which the thumbnail check requires)
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63f8cfc0f01f00050001ff89993d1d0000000049454e44ae426082"
)
AGORA_NCS_SECRET = "test-agora-ncs-secret"
AGORA = {"appId": "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "appCertificate": "5c3a1f0e9d8b7a6f5e4d3c2b1a0f9e8d"}


# Parameter values the tests deploy with (as `sam deploy --parameter-overrides` would)
PARAMETERS = {"Stage": "test", "ThumbnailBaseUrl": "https://cdn.test/thumbs", "DefaultThumbnailUrl": "https://cdn.test/default.png"}
PREFIX = "test"  # physical names: test-<LogicalId>
# Knobs of the test harness itself, on top of each function's template environment
HARNESS_ENV = {"POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"}


@cache
def template() -> Template:
    return Template.load(**PARAMETERS)


def resources_of(kind: str) -> dict[str, dict[str, Any]]:
    return template().resources(kind)


@cache
def router() -> Router:
    return Router.from_template(template())


def routes() -> list[Route]:
    return router().routes


def route_for(method: str, path: str) -> Match:
    match = router().match(method, path)
    if match is None:
        raise LookupError(f"no route for {method} {path}")
    return match


@cache
def load_module(logical_id: str) -> Any:
    with function_environment(logical_id):  # imported as Lambda's init would: under its own environment
        return template().functions()[logical_id].load_module()


def load_function(logical_id: str) -> Any:
    return getattr(load_module(logical_id), template().functions()[logical_id].handler_name)


_current: AwsResources | None = None


def invoke(logical_id: str, event: dict[str, Any]) -> Any:
    """Call a function as Lambda would: under its own template environment and its own template
    policy (a call outside it raises AccessDenied to the function, as in AWS)."""
    handler = load_function(logical_id)
    function = template().functions()[logical_id]
    with as_function(logical_id):
        return handler(event, LambdaContext(logical_id, function.memory, function.timeout))


@contextmanager
def as_function(logical_id: str) -> Iterator[None]:
    """Code inside runs as the function would: its template environment and its template policy
    (for tests that drive the layer directly, e.g. the dispatcher's internals)."""
    with function_environment(logical_id), iam.acting_as(*_current_policy(logical_id)):
        yield


def _current_policy(logical_id: str) -> tuple[iam.Policy, dict[str, str]]:
    if _current is None:
        raise RuntimeError("functions run against the template's resources: use the `aws` fixture")
    return _current.policy(logical_id), _current.secrets


@contextmanager
def function_environment(logical_id: str) -> Iterator[None]:
    """os.environ as the function's container sees it: the variables template.yaml gives this
    function (no other function's), resolved to the test resources; restored afterwards."""
    if _current is None:
        yield
        return
    saved = dict(os.environ)
    for key in _current.template_variables():
        os.environ.pop(key, None)
    os.environ.update(_current.environment(logical_id))
    _new_container()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        _new_container()


def _new_container() -> None:
    """Settings and cached secret values are read again, as in a new container (the SDK clients are
    kept: creating them is slow, and they carry no function's configuration)."""
    from aws_lambda_powertools.utilities.parameters.base import DEFAULT_PROVIDERS

    from livestream.settings import get_settings

    get_settings.cache_clear()
    for provider in DEFAULT_PROVIDERS.values():
        provider.clear_cache()


@dataclass
class AwsResources:
    """The template's resources in moto: logical id (and ``<id>.<attribute>``) → physical name / ARN."""

    names: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    policies: dict[str, iam.Policy] = field(default_factory=dict)

    @classmethod
    def create(cls, monkeypatch: Any, *, acting_as: str | None = None) -> AwsResources:
        """Create the resources; the process environment (seen by tests that call the layer
        directly) is the template's Globals environment, or ``acting_as``'s whole environment."""
        global _current
        from local.streams import patch_moto_streams

        patch_moto_streams()
        names = physical_names(template(), "https://sqs.us-east-1.amazonaws.com", prefix=PREFIX)
        ddb = boto3.client("dynamodb")
        for logical, res in resources_of("AWS::DynamoDB::Table").items():
            props = res["Properties"]
            kwargs: dict[str, Any] = {
                "TableName": names[logical],
                "KeySchema": props["KeySchema"],
                "AttributeDefinitions": props["AttributeDefinitions"],
                "BillingMode": props["BillingMode"],
            }
            if props.get("GlobalSecondaryIndexes"):
                kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            if props.get("StreamSpecification"):
                kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
            ddb.create_table(**kwargs)
        s3 = boto3.client("s3")
        for logical in resources_of("AWS::S3::Bucket"):
            s3.create_bucket(Bucket=names[logical])
        sm = boto3.client("secretsmanager")
        values = {"JwtSecret": JWT_SECRET, "ApiTokenSecret": API_TOKEN, "AgoraSecret": json.dumps(AGORA), "AgoraNotificationSecret": AGORA_NCS_SECRET}
        for logical in resources_of("AWS::SecretsManager::Secret"):
            sm.create_secret(Name=names[f"{logical}.Name"], SecretString=values[logical])
        sqs = boto3.client("sqs")
        for logical, res in resources_of("AWS::SQS::Queue").items():
            fifo = bool(res["Properties"].get("FifoQueue"))
            attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "false"} if fifo else {}
            url = sqs.create_queue(QueueName=names[f"{logical}.QueueName"], Attributes=attributes)["QueueUrl"]
            assert url == names[logical], (url, names[logical])
        from local.eventbridge import create_event_resources

        create_event_resources(template(), names, boto3.client)  # buses and rules (targets: the queues above)
        resources = cls(names, {}, dict(iam.function_policies(template(), names)))  # a copy: a test may revoke
        _current = resources
        base = resources.environment(acting_as) if acting_as else resources.globals_environment()
        for key, value in base.items():
            monkeypatch.setenv(key, value)
        reset_caches()
        return resources

    def close(self) -> None:
        global _current
        if _current is self:
            _current = None

    # ---- what each function gets

    def deploy_template(self) -> Template:
        """The template with this test's parameter overrides (``with_parameters``)."""
        return Template.load(**{**PARAMETERS, **self.parameters}) if self.parameters else template()

    def with_parameters(self, **parameters: Any) -> None:
        """Redeploy with other parameter values: every function's environment follows."""
        self.parameters.update({k: str(v) for k, v in parameters.items()})

    def environment(self, logical_id: str) -> dict[str, str]:
        """The function's environment: template.yaml's (Globals and its own) resolved to the test resources."""
        env = self.deploy_template().functions()[logical_id].environment(self.names)
        return {**env, **HARNESS_ENV, "AWS_LAMBDA_FUNCTION_NAME": logical_id}

    def globals_environment(self) -> dict[str, str]:
        variables = self.deploy_template().globals.get("Environment", {}).get("Variables", {})
        return {**{k: str(self.deploy_template().resolve(v, self.names)) for k, v in variables.items()}, **HARNESS_ENV}

    def template_variables(self) -> set[str]:
        """Every variable template.yaml sets for any function."""
        found = set(self.deploy_template().globals.get("Environment", {}).get("Variables", {}))
        for function in self.deploy_template().functions().values():
            found |= set(function.properties.get("Environment", {}).get("Variables", {}))
        return found

    def policy(self, logical_id: str) -> iam.Policy:
        return self.policies[logical_id]

    @property
    def secrets(self) -> dict[str, str]:
        return iam.secret_arns(template(), self.names)

    def table(self) -> str:
        return self.names["MainTable"]

    def mapping(self, function: str) -> Any:
        """The emulated event source mapping of ``function``'s DynamoDB stream event (created once)."""
        cache = self.__dict__.setdefault("_mappings", {})
        if function not in cache:
            for found in self.new_mappings(invoke_function):
                cache.setdefault(found.function, found)
        return cache[function]

    def mapping_with(self, function: str, invoke: Any) -> Any:
        """A new event source mapping of ``function``'s stream event, invoking through ``invoke`` (to make
        it fail as Lambda can)."""
        return next(m for m in self.new_mappings(invoke) if m.function == function)

    def recording_mapping(self, function: str) -> tuple[Any, list[dict[str, Any]]]:
        """A new mapping of ``function`` that invokes it for real and keeps every record it delivers."""
        seen: list[dict[str, Any]] = []

        def record(name: str, event: dict[str, Any]) -> Any:
            seen.extend(event["Records"])
            return invoke_function(name, event)

        return self.mapping_with(function, record), seen

    def new_mappings(self, invoke: Any) -> list[Any]:
        from local.streams import stream_mappings

        sqs = boto3.client("sqs")
        urls = {q: sqs.get_queue_url(QueueName=self.names[f"{q}.QueueName"])["QueueUrl"] for q in resources_of("AWS::SQS::Queue")}
        return list(stream_mappings(template(), resolved_names(self.names, urls), invoke, boto3.client, retry_delay=0))

    def reminder_messages(self) -> list[dict[str, Any]]:
        """Every message on the reminder queue (received once, then deleted)."""
        sqs = boto3.client("sqs")
        url = self.names["ReminderQueue"]
        found = []
        while True:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
            if not batch:
                return found
            for m in batch:
                found.append({**json.loads(m["Body"]), "_dedup": m["Attributes"].get("MessageDeduplicationId")})
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


@contextmanager
def queries_in_flight_together(parties: int, index: Optional[str] = None) -> Iterator[list[dict[str, Any]]]:
    """Inside, the layer's DynamoDB Queries (of ``index``, or all) must be in flight ``parties`` at a time:
    each waits at a barrier as it is sent, so one sent only after another returned breaks it (in 5 s) and
    its call fails. Yields the Queries' parameters, in the order they were sent."""
    from livestream import store

    together = threading.Barrier(parties, timeout=5)
    sent: list[dict[str, Any]] = []

    def hold(params: dict[str, Any], **kwargs: Any) -> None:
        if index is None or params.get("IndexName") == index:
            sent.append(params)
            together.wait()

    events = store.client().meta.events
    events.register("provide-client-params.dynamodb.Query", hold, unique_id="queries-in-flight-together")
    try:
        yield sent
    finally:
        events.unregister("provide-client-params.dynamodb.Query", unique_id="queries-in-flight-together")


def drain_queue(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message on a queue, received once and deleted: their JSON bodies, in the order received."""
    found = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def resolved_names(names: dict[str, str], queue_urls: dict[str, str]) -> dict[str, str]:
    """What ``Ref`` / ``GetAtt`` resolve to in the tests' moto (``names`` already holds queue URLs and ARNs)."""
    return {**names, **queue_urls}


def reset_caches() -> None:
    """Settings and secrets are cached per container; a test that changes them starts a new 'container'."""
    from livestream.secrets import clear_cache
    from livestream.settings import get_settings

    get_settings.cache_clear()
    clear_cache()


def make_token(user_id: str, *, secret: str = JWT_SECRET, algorithm: str = "HS256", ttl: int = 3600, **claims: Any) -> str:
    import jwt

    now = int(time.time())
    payload = {"sub": user_id, "iat": now, "exp": now + ttl, **claims}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, secret, algorithm=algorithm)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    json: dict[str, Any]
    function: str

    @property
    def data(self) -> Any:
        return self.json["data"]

    @property
    def errors(self) -> list[str]:
        return self.json["errors"]


class Api:
    """Calls the API as API Gateway would: route by template.yaml, build a REST proxy event."""

    def __init__(self, aws: AwsResources) -> None:
        self.aws = aws

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, Any] | None = None,
        user: str | None = None,
        api_token: str | None = None,
        as_text: bool = False,
    ) -> Reply:
        """``as_text`` delivers even a binary media type as text, as a stage without it would."""
        headers = dict(headers or {})
        if user is not None:
            headers["Authorization"] = f"Bearer {make_token(user)}"
        if api_token is not None:
            headers["Api-Token"] = api_token
        if json_body is not None:
            body = json.dumps(json_body)
            headers.setdefault("Content-Type", "application/json")
        data = body.encode() if isinstance(body, str) else (body or b"")
        match = route_for(method, path)
        binary_types = [] if as_text else template().binary_media_types()
        event = proxy_event(match, method, path, urlencode(query or {}), list(headers.items()), data, binary_types, stage="test")
        route = match.route
        result = invoke(route.function, event)
        raw = result["body"]
        if result.get("isBase64Encoded"):
            raw = base64.b64decode(raw).decode()
        headers_out = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
        for k, v in (result.get("multiValueHeaders") or {}).items():
            headers_out.setdefault(k.lower(), ",".join(v))
        return Reply(result["statusCode"], headers_out, json.loads(raw), route.function)

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Reply:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Reply:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> Reply:
        return self.request("DELETE", path, **kw)

    def settle(self) -> int:
        """Let the audience counters and the viewers' search index catch up: drain the AudienceCountsFunction's
        and AudienceSearchFunction's stream mappings (as the deployed mappings do within seconds). Answers the
        records the counters consumed."""
        counted = self.aws.mapping("AudienceCountsFunction").drain()
        self.aws.mapping("AudienceSearchFunction").drain()
        return counted

    # ---- domain shortcuts

    def add_user(self, user_id: str, **profile: Any) -> dict[str, Any]:
        body = {"username": f"user{user_id[:6]}", "name": "Ada", "surname": "Lovelace", **profile}
        reply = self.put(f"/internal/v1/users/{user_id}", json_body=body, api_token=API_TOKEN)
        assert reply.status == 200, reply.json
        return reply.data

    def create(self, user: str, **fields: Any) -> Reply:
        return self.post("/api/v1/live-stream/create", json_body={"title": "Morning show", **fields}, user=user)


def multipart(fields: dict[str, Any]) -> tuple[bytes, str]:
    """A multipart/form-data body as a client library encodes it (urllib3's encoder).

    ``fields`` values are text, or ``(filename, bytes, content type)`` for files."""
    from urllib3 import encode_multipart_formdata

    return encode_multipart_formdata(fields)


def user_id(n: int) -> str:
    """A well-formed 24-hex user id."""
    return f"{n:024x}"


def invoke_function(name: str, event: dict[str, Any]) -> tuple[str, Any]:
    """Invoke a template function in process, as the local run's workers answer: ("ok", result) or
    ("error", traceback) — what an event source mapping needs to know."""
    import traceback

    try:
        return "ok", invoke(name, event)
    except Exception:
        return "error", traceback.format_exc()


# API Gateway's $context.requestTime (CLF), which its own answers' templates carry
CLF_PATTERN = re.compile(r"^\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000$")


def assert_gateway_answer(answer: tuple[int, list[tuple[str, str]], bytes], status: int, error: str, retry_after: str) -> None:
    """One of API Gateway's own answers, rendered from the template: the envelope with its message, the
    gateway's CLF request time, ``Retry-After``."""
    got, headers, body = answer
    assert got == status and dict(headers)["Retry-After"] == retry_after and dict(headers)["Content-Type"] == "application/json"
    envelope = json.loads(body)
    assert {k: v for k, v in envelope.items() if k != "timestamp"} == {"isSuccess": False, "statusCode": status, "data": None, "errors": [error]}
    assert CLF_PATTERN.match(envelope["timestamp"]), envelope


def local_gateway(template: Any) -> Iterator[Any]:
    """The local gateway (``local.http_server.Gateway``) of ``template``, in process, its functions pointed at a
    port nothing listens on (what these tests send never reaches AWS); stopped afterwards."""
    from local.emulation import function_environment
    from local.http_server import Gateway

    environments = {n: function_environment(template, n, "http://127.0.0.1:9", "http://127.0.0.1:3899") for n in template.functions()}
    gateway = Gateway(template, environments)
    try:
        yield gateway
    finally:
        gateway.stop()
