"""Over HTTP against the local stack: resources from the template, create/get/start/end, the sync
endpoints, thumbnails, unknown routes, wrong methods and oversized bodies."""

from __future__ import annotations

import io
import os

import pytest
import requests
from PIL import Image

from local.cfn import Template
from local.emulation import physical_names
from tests.support import PNG

pytestmark = pytest.mark.e2e


def uid() -> str:
    return os.urandom(12).hex()


def test_resources_are_the_templates(stack):
    template = Template.load()
    names = physical_names(template, stack.aws_endpoint)
    ddb = stack.aws("dynamodb")
    for logical, res in template.resources("AWS::DynamoDB::Table").items():
        table = ddb.describe_table(TableName=names[logical])["Table"]
        assert table["KeySchema"] == res["Properties"]["KeySchema"]
        declared = {i["IndexName"]: i["KeySchema"] for i in res["Properties"].get("GlobalSecondaryIndexes", [])}
        assert {i["IndexName"]: i["KeySchema"] for i in table.get("GlobalSecondaryIndexes", [])} == declared
    buckets = {b["Name"] for b in stack.aws("s3").list_buckets()["Buckets"]}
    assert names["ThumbnailBucket"] in buckets
    secret = stack.aws("secretsmanager").get_secret_value(SecretId=names["ApiTokenSecret"])["SecretString"]
    assert secret == "local-dev-api-token"
    queues = stack.aws("sqs").list_queues()["QueueUrls"]
    assert any("Reminder" in q and q.endswith(".fifo") for q in queues)


def test_create_multipart_get_start_end(stack):
    creator, guest = uid(), uid()
    stack.add_user(creator, name="Şule")
    stack.add_user(guest)
    files = {"thumbnail": ("t.png", PNG, "image/png")}
    data = {"title": "Şarkı ılık akşam", "guests": f'["{guest}"]', "plannedStartDate": "2099-01-01T00:00:00.000Z"}
    reply = requests.post(stack.url("/api/v1/live-stream/create"), data=data, files=files, headers=stack.auth(creator), timeout=30)
    assert reply.status_code == 400 and "plannedStartDate: must be at most 90 days ahead" in reply.json()["errors"]
    data.pop("plannedStartDate")
    reply = requests.post(stack.url("/api/v1/live-stream/create"), data=data, files=files, headers=stack.auth(creator), timeout=30)
    assert reply.status_code == 201, reply.text
    stream = reply.json()["data"]
    assert stream["title"] == "Şarkı ılık akşam" and stream["channelName"].startswith("sarki-ilik-aksam-")
    assert stream["creator"]["name"] == "Şule" and stream["guests"][0]["_id"] == guest
    thumbnail = requests.get(stream["thumbnailUrl"], timeout=30)
    assert thumbnail.status_code == 200 and thumbnail.content.startswith(b"\x89PNG")  # stored re-encoded
    assert Image.open(io.BytesIO(thumbnail.content)).size == (1, 1)

    fetched = requests.get(stack.url(f"/api/v1/live-stream/{stream['id']}"), headers=stack.auth(guest), timeout=30).json()["data"]
    assert fetched["id"] == stream["id"] and fetched["role"] == "guest"
    assert requests.post(stack.url(f"/api/v1/live-stream/{stream['id']}/start"), headers=stack.auth(creator), timeout=30).status_code == 409
    ended = requests.post(stack.url(f"/api/v1/live-stream/{stream['id']}/end"), headers=stack.auth(creator), timeout=30)
    assert ended.status_code == 200 and ended.json()["data"]["status"] == "ended"


def test_json_create_with_idempotency_key(stack):
    creator = uid()
    stack.add_user(creator)
    headers = {**stack.auth(creator), "Idempotency-Key": "e2e-1"}
    first = requests.post(stack.url("/api/v1/live-stream/create"), json={"title": "Once"}, headers=headers, timeout=30)
    again = requests.post(stack.url("/api/v1/live-stream/create"), json={"title": "Once"}, headers=headers, timeout=30)
    assert first.status_code == again.status_code == 201 and first.json()["data"]["id"] == again.json()["data"]["id"]
    changed = requests.post(stack.url("/api/v1/live-stream/create"), json={"title": "Twice"}, headers=headers, timeout=30)
    assert changed.status_code == 409


def test_internal_endpoints(stack):
    a, b = uid(), uid()
    stack.add_user(a)
    unknown = requests.put(stack.url(f"/internal/v1/users/{a}/following/{b}"), headers=stack.api_token, timeout=30)
    assert unknown.status_code == 404 and unknown.json()["errors"] == ["Resource not found", f"targetUserId: no user {b}"]
    stack.add_user(b)
    assert requests.put(stack.url(f"/internal/v1/users/{a}/following/{b}"), headers=stack.api_token, timeout=30).json()["data"]["isFollowing"]
    assert requests.delete(stack.url(f"/internal/v1/users/{a}/following/{b}"), headers=stack.api_token, timeout=30).status_code == 200
    assert requests.put(stack.url(f"/internal/v1/users/{a}"), json={}, timeout=30).status_code == 401
    reply = requests.put(stack.url(f"/internal/v1/live-stream/{uid()}/access/{a}"), headers=stack.api_token, timeout=30)
    assert reply.status_code == 404 and reply.json()["errors"][0] == "Resource not found"


def test_unknown_routes_wrong_methods_and_oversized_bodies(stack):
    missing = requests.get(stack.url("/api/v1/nothing"), timeout=30)
    assert missing.status_code == 404 and missing.json()["errors"][0] == "Resource not found"
    wrong = requests.get(stack.url("/api/v1/live-stream/create"), timeout=30)
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "POST" and wrong.json()["errors"][0] == "Method not allowed"
    huge = requests.post(
        stack.url("/api/v1/live-stream/create"), data=b"x" * (7 * 1024 * 1024), headers={"Content-Type": "application/octet-stream"}, timeout=60
    )
    assert huge.status_code == 413 and huge.json()["errors"][0] == "Payload too large"
    big_thumbnail = {"thumbnail": ("t.png", PNG + b"0" * (4 * 1024 * 1024), "image/png")}
    creator = uid()
    reply = requests.post(stack.url("/api/v1/live-stream/create"), data={"title": "x"}, files=big_thumbnail, headers=stack.auth(creator), timeout=60)
    assert reply.status_code == 413
