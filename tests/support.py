"""Test support: template.yaml's resources created in moto, and an API client that builds real
API Gateway REST proxy events and hands them to the function template.yaml maps to the route."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlencode

import boto3

from local.cfn import Template
from local.routing import Match, Route, Router, proxy_event
from local.workers import LambdaContext

JWT_SECRET = "test-jwt-secret-that-is-long-enough-for-hs256"
API_TOKEN = "test-api-token"
# A real 1×1 PNG
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
AGORA_NCS_SECRET = "test-agora-ncs-secret"
AGORA = {"appId": "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "appCertificate": "5c3a1f0e9d8b7a6f5e4d3c2b1a0f9e8d"}


@cache
def template() -> Template:
    return Template.load(Stage="test")


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
    return template().functions()[logical_id].load_module()


def load_function(logical_id: str) -> Any:
    return getattr(load_module(logical_id), template().functions()[logical_id].handler_name)


@dataclass
class AwsResources:
    """The template's resources in moto, by logical id → physical name."""

    names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, monkeypatch: Any) -> AwsResources:
        from local.streams import patch_moto_streams

        patch_moto_streams()
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
            if props.get("StreamSpecification"):
                kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
            ddb.create_table(**kwargs)
        s3 = boto3.client("s3")
        for logical in resources_of("AWS::S3::Bucket"):
            names[logical] = f"test-{logical.lower()}"
            s3.create_bucket(Bucket=names[logical])
        sm = boto3.client("secretsmanager")
        values = {"JwtSecret": JWT_SECRET, "ApiTokenSecret": API_TOKEN, "AgoraSecret": json.dumps(AGORA), "AgoraNotificationSecret": AGORA_NCS_SECRET}
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
            "AGORA_TOKEN_VERSION": "007",
            "AGORA_NOTIFICATION_SECRET_NAME": names["AgoraNotificationSecret"],
            "PRESENCE_GRACE_SECONDS": "300",
            **create_event_resources_for_tests(names, queue_urls),
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


def resolved_names(names: dict[str, str], queue_urls: dict[str, str]) -> dict[str, str]:
    """What ``Ref`` / ``GetAtt`` resolve to in the tests' moto (queues: URL and ARN)."""
    from local.cfn import ACCOUNT, REGION
    from local.eventbridge import event_names

    resolved = dict(names)
    for logical, url in queue_urls.items():
        resolved[logical] = url
        resolved[f"{logical}.Arn"] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{names[logical]}"
        resolved[f"{logical}.QueueName"] = names[logical]
    resolved.update(event_names(template(), "test"))
    return resolved


def create_event_resources_for_tests(names: dict[str, str], queue_urls: dict[str, str]) -> dict[str, str]:
    """The template's EventBridge buses and rules in moto; the publisher's environment."""
    from local.eventbridge import create_event_resources

    resolved = resolved_names(names, queue_urls)
    create_event_resources(template(), resolved, boto3.client)
    for logical in resources_of("AWS::Events::EventBus"):
        names[logical] = resolved[logical]
    return {"EVENT_BUS_NAME": resolved["EventBus"], "AUDIENCE_EVENT_INTERVAL_SECONDS": "10"}


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
        result = load_function(route.function)(event, LambdaContext(route.function, 512, 30))
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


def invoke_function(name: str, event: dict[str, Any]) -> tuple[str, Any]:
    """Invoke a template function in process, as the local run's workers answer: ("ok", result) or
    ("error", traceback) — what an event source mapping needs to know."""
    import traceback

    try:
        return "ok", load_function(name)(event, LambdaContext(name, 512, 60))
    except Exception:
        return "error", traceback.format_exc()
