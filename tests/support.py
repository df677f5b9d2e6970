"""Test support: template.yaml's resources created in moto, and an API client that builds real
API Gateway REST proxy events and hands them to the function template.yaml maps to the route."""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import yaml

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
JWT_SECRET = "test-jwt-secret-that-is-long-enough-for-hs256"
API_TOKEN = "test-api-token"
# A real 1×1 PNG
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
AGORA = {"appId": "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "appCertificate": "5c3a1f0e9d8b7a6f5e4d3c2b1a0f9e8d"}


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !Sub, ...) as plain values."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: {suffix: _construct(loader, node)})


def _construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


@cache
def template() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)


def resources_of(kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template()["Resources"].items() if res["Type"] == kind}


@dataclass
class Route:
    function: str
    method: str
    resource: str
    pattern: re.Pattern[str]
    specificity: tuple[int, ...]


@cache
def routes() -> list[Route]:
    found = []
    for name, res in resources_of("AWS::Serverless::Function").items():
        for event in (res["Properties"].get("Events") or {}).values():
            if event["Type"] != "Api":
                continue
            path = event["Properties"]["Path"]
            regex = "".join(
                "/(?P<proxy>.+)" if seg == "{proxy+}" else f"/(?P<{seg[1:-1]}>[^/]+)" if seg.startswith("{") else "/" + re.escape(seg)
                for seg in path.strip("/").split("/")
            )
            # static segments beat parameters, which beat a greedy proxy; an exact method beats ANY
            segs = path.strip("/").split("/")
            specificity = tuple(2 if not s.startswith("{") else 1 if s != "{proxy+}" else 0 for s in segs)
            found.append(Route(name, event["Properties"]["Method"].upper(), path, re.compile(f"^{regex}$"), specificity))
    return found


def route_for(method: str, path: str) -> tuple[Route, dict[str, str]]:
    candidates = [(r, m) for r in routes() if (m := r.pattern.match(path)) and r.method in (method, "ANY")]
    if not candidates:
        raise LookupError(f"no route for {method} {path}")
    route, match = max(candidates, key=lambda rm: (rm[0].specificity, rm[0].method != "ANY"))
    return route, match.groupdict()


@cache
def load_module(logical_id: str) -> Any:
    """A function's handler module, loaded under a name of its own (each function's ``app.py``
    would shadow the others as a plain ``import app``)."""
    props = template()["Resources"][logical_id]["Properties"]
    module_file = props["Handler"].split(".")[0]
    path = ROOT / props["CodeUri"] / f"{module_file}.py"
    spec = importlib.util.spec_from_file_location(f"functions_{logical_id}", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def load_function(logical_id: str) -> Any:
    handler = template()["Resources"][logical_id]["Properties"]["Handler"].split(".")[1]
    return getattr(load_module(logical_id), handler)


class LambdaContext:
    def __init__(self, name: str) -> None:
        self.function_name = name
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@dataclass
class AwsResources:
    """The template's resources in moto, by logical id → physical name."""

    names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, monkeypatch: Any) -> AwsResources:
        names: dict[str, str] = {}
        ddb = boto3.client("dynamodb")
        for logical, res in resources_of("AWS::DynamoDB::Table").items():
            props = res["Properties"]
            names[logical] = f"test-{logical}"
            kwargs: dict[str, Any] = {
                "TableName": names[logical],
                "KeySchema": props["KeySchema"],
                "AttributeDefinitions": props["AttributeDefinitions"],
                "BillingMode": props["BillingMode"],
            }
            if props.get("GlobalSecondaryIndexes"):
                kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            ddb.create_table(**kwargs)
        s3 = boto3.client("s3")
        for logical in resources_of("AWS::S3::Bucket"):
            names[logical] = f"test-{logical.lower()}"
            s3.create_bucket(Bucket=names[logical])
        sm = boto3.client("secretsmanager")
        values = {"JwtSecret": JWT_SECRET, "ApiTokenSecret": API_TOKEN, "AgoraSecret": json.dumps(AGORA)}
        for logical in resources_of("AWS::SecretsManager::Secret"):
            names[logical] = f"test-{logical}"
            sm.create_secret(Name=names[logical], SecretString=values[logical])
        sqs = boto3.client("sqs")
        queue_urls = {}
        for logical, res in resources_of("AWS::SQS::Queue").items():
            fifo = bool(res["Properties"].get("FifoQueue"))
            names[logical] = f"test-{logical}" + (".fifo" if fifo else "")
            attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "false"} if fifo else {}
            queue_urls[logical] = sqs.create_queue(QueueName=names[logical], Attributes=attributes)["QueueUrl"]
        env = {
            "REMINDER_QUEUE_URL": queue_urls["ReminderQueue"],
            "REMINDER_LEAD_MINUTES": "15",
            "TABLE_NAME": names["MainTable"],
            "IDEMPOTENCY_TABLE_NAME": names["IdempotencyTable"],
            "THUMBNAIL_BUCKET": names["ThumbnailBucket"],
            "THUMBNAIL_BASE_URL": "https://cdn.test/thumbs",
            "DEFAULT_THUMBNAIL_URL": "https://cdn.test/default.png",
            "JWT_ALGORITHM": "HS256",
            "JWT_SECRET_NAME": names["JwtSecret"],
            "JWT_JWKS_URL": "",
            "JWT_ISSUER": "",
            "JWT_AUDIENCE": "",
            "API_TOKEN_SECRET_NAME": names["ApiTokenSecret"],
            "AGORA_SECRET_NAME": names["AgoraSecret"],
            "AGORA_TOKEN_TTL_SECONDS": "3600",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        reset_caches()
        return cls(names)

    def table(self) -> str:
        return self.names["MainTable"]

    def reminder_messages(self) -> list[dict[str, Any]]:
        """Every message on the reminder queue (received once, then deleted)."""
        sqs = boto3.client("sqs")
        url = sqs.get_queue_url(QueueName=self.names["ReminderQueue"])["QueueUrl"]
        found = []
        while True:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
            if not batch:
                return found
            for m in batch:
                found.append({**json.loads(m["Body"]), "_dedup": m["Attributes"].get("MessageDeduplicationId")})
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def reset_caches() -> None:
    """Settings and secrets are cached per container; a test that changes them starts a new 'container'."""
    from aws_lambda_powertools.utilities import parameters

    from livestream.settings import get_settings

    get_settings.cache_clear()
    parameters.clear_caches()


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

    BINARY = ("multipart/form-data", "image/jpeg", "image/png", "image/webp")

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
    ) -> Reply:
        headers = dict(headers or {})
        if user is not None:
            headers["Authorization"] = f"Bearer {make_token(user)}"
        if api_token is not None:
            headers["Api-Token"] = api_token
        if json_body is not None:
            body = json.dumps(json_body)
            headers.setdefault("Content-Type", "application/json")
        route, params = route_for(method, path)
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        binary = content_type.split(";")[0].strip().lower() in self.BINARY
        if isinstance(body, str):
            body = body.encode()
        event = {
            "resource": route.resource,
            "path": path,
            "httpMethod": method,
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": {k: str(v) for k, v in query.items()} if query else None,
            "multiValueQueryStringParameters": {k: [str(v)] for k, v in query.items()} if query else None,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": route.resource,
                "httpMethod": method,
                "path": f"/test{path}" + (f"?{urlencode(query)}" if query else ""),
                "stage": "test",
                "requestId": str(uuid.uuid4()),
                "requestTimeEpoch": int(time.time() * 1000),
                "identity": {"sourceIp": "127.0.0.1"},
            },
            "body": None if body is None else (base64.b64encode(body).decode() if binary else body.decode()),
            "isBase64Encoded": bool(binary and body is not None),
        }
        result = load_function(route.function)(event, LambdaContext(route.function))
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
