"""POST /api/v1/live-stream/create, through the function template.yaml maps it to."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from livestream.clock import iso
from tests.support import PNG, multipart, user_id

CREATOR, GUEST, CO_HOST, OTHER = user_id(1), user_id(2), user_id(3), user_id(4)
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
STREAM_FIELDS = {
    "id", "title", "liveStreamType", "channelName", "broadcasters", "guests", "creator", "thumbnailUrl", "recording",
    "recordingUrl", "replayAccess", "status", "accessType", "price", "interest", "durationGoal", "motivation",
    "isActiveReplayOnCreatorProfile", "replayCreditPrice", "startedAt", "plannedStartDate", "endedAt", "plannedEndDate",
    "createdAt", "updatedAt", "fundingGoal", "collectedFunding", "fundingPercentage", "role", "miniCrowdFundings",
}  # fmt: skip


@pytest.fixture
def people(api):
    for uid in (CREATOR, GUEST, CO_HOST, OTHER):
        api.add_user(uid, profilePhoto={"_id": "507f1f77bcf86cd799439012", "url": "https://x/p.jpg", "type": "image", "variants": {"40": "a"}})


def test_live_now_stream_has_every_field_of_the_seed(api, people):
    reply = api.create(CREATOR, title="  Yeni ürün tanıtımı  ", guests=[GUEST], interest="music", durationGoal=60, motivation="m")
    assert reply.status == 201 and reply.function == "CreateStreamFunction"
    assert reply.json["isSuccess"] is True and reply.json["statusCode"] == 201 and reply.errors == []
    assert ISO_MS.match(reply.json["timestamp"])
    stream = reply.data
    assert set(stream) == STREAM_FIELDS
    assert re.fullmatch(r"[0-9a-f]{24}", stream["id"])
    assert stream["title"] == "Yeni ürün tanıtımı"
    assert stream["status"] == "active" and ISO_MS.match(stream["startedAt"]) and stream["plannedStartDate"] is None
    assert stream["role"] == "host" and stream["accessType"] == "free" and stream["price"] is None
    assert stream["creator"]["_id"] == CREATOR and set(stream["creator"]) == {
        "_id",
        "username",
        "name",
        "surname",
        "profilePhoto",
        "availabilityStatus",
    }
    assert stream["creator"]["profilePhoto"]["variants"] == {"40": "a"}
    assert [g["_id"] for g in stream["guests"]] == [GUEST] and stream["broadcasters"] == []
    assert stream["thumbnailUrl"] == "https://cdn.test/default.png"
    assert stream["miniCrowdFundings"] == [] and stream["recording"] is False
    assert stream["durationGoal"] == 60 and stream["interest"] == "music"


def test_channel_name_is_a_folded_slug_with_a_suffix(api, people):
    names = {api.create(CREATOR, title="Yeni ürün tanıtımı").data["channelName"] for _ in range(3)}
    assert len(names) == 3
    for name in names:
        assert re.fullmatch(r"yeni-urun-tanitimi-[a-z0-9]+", name)
    assert re.fullmatch(r"live-[a-z0-9]+", api.create(CREATOR, title="!!! ***").data["channelName"])
    long = api.create(CREATOR, title="Çok uzun " * 13).data["channelName"]
    assert len(long) <= 64 and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", long)


def test_price_makes_the_stream_paid(api, people):
    stream = api.create(CREATOR, price=9.99).data
    assert stream["accessType"] == "paid" and stream["price"] == 9.99


def test_scheduled_stream(api, people):
    start = datetime.now(UTC) + timedelta(days=2)
    stream = api.create(CREATOR, plannedStartDate=iso(start), durationGoal=30).data
    assert stream["status"] == "scheduled" and stream["startedAt"] is None
    assert stream["plannedStartDate"] == iso(start)
    assert stream["plannedEndDate"] == iso(start + timedelta(minutes=30))


def test_multi_stream_with_broadcasters(api, people):
    stream = api.create(CREATOR, liveStreamType="multi", broadcasters=[CO_HOST], guests=[GUEST]).data
    assert [b["_id"] for b in stream["broadcasters"]] == [CO_HOST]


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({"title": "   "}, "title: must not be empty"),
        ({"title": "x" * 121}, "title: must be at most 120 characters"),
        ({"title": None}, "title: field required"),
        ({"liveStreamType": "duo"}, "liveStreamType: must be one of 'solo' or 'multi'"),
        ({"guests": "not json"}, "guests: must be a JSON array of user ids"),
        ({"guests": ["nope"]}, "guests: 'nope' is not a user id (24 lowercase hex characters)"),
        ({"guests": [GUEST, GUEST]}, "guests: must not contain the same user twice"),
        ({"guests": [user_id(100 + i) for i in range(11)]}, "guests: must have at most 10 users"),
        ({"guests": [CREATOR]}, "guests: must not include the creator"),
        ({"guests": [user_id(999)]}, f"guests: unknown user id {user_id(999)}"),
        ({"broadcasters": [CO_HOST]}, "broadcasters: only allowed for multi streams"),
        ({"liveStreamType": "multi", "broadcasters": [user_id(100 + i) for i in range(6)]}, "broadcasters: must have at most 5 users"),
        ({"liveStreamType": "multi", "broadcasters": [GUEST], "guests": [GUEST]}, f"broadcasters: {GUEST} is also a guest"),
        ({"price": 0}, "price: must be greater than 0"),
        ({"price": -1}, "price: must be greater than 0"),
        ({"price": 10000.01}, "price: must be less than or equal to 10000"),
        ({"price": 9.999}, "price: must have at most 2 decimals"),
        ({"price": "free"}, "price: must be a number"),
        ({"durationGoal": 0}, "durationGoal: must be greater than or equal to 1"),
        ({"durationGoal": 1441}, "durationGoal: must be less than or equal to 1440"),
        ({"durationGoal": "1.5"}, "durationGoal: must be a whole number"),
        ({"motivation": "m" * 1001}, "motivation: must be at most 1000 characters"),
        ({"interest": "i" * 51}, "interest: must be at most 50 characters"),
        ({"plannedStartDate": "tomorrow"}, "plannedStartDate: must be an ISO 8601 date-time"),
        ({"plannedStartDate": "2020-01-01T00:00:00.000Z"}, "plannedStartDate: must not be in the past"),
        ({"plannedStartDate": iso(datetime.now(UTC) + timedelta(days=91))}, "plannedStartDate: must be at most 90 days ahead"),
    ],
)
def test_invalid_fields_are_400_naming_the_field(api, people, fields, detail):
    reply = api.create(CREATOR, **fields)
    assert reply.status == 400, reply.json
    assert reply.errors[0] == "Validation failed"
    assert detail in reply.errors[1:]
    assert reply.json["data"] is None and reply.json["isSuccess"] is False


def test_a_minute_of_clock_skew_is_allowed(api, people):
    just_past = datetime.now(UTC) - timedelta(seconds=30)
    assert api.create(CREATOR, plannedStartDate=iso(just_past)).status == 201


def test_nothing_is_written_when_validation_fails(api, aws, people):
    api.create(CREATOR, guests=[user_id(999)])
    items = boto3.client("dynamodb").query(
        TableName=aws.table(),
        IndexName="CreatorIndex",
        KeyConditionExpression="creatorPk = :p",
        ExpressionAttributeValues={":p": {"S": f"CREATOR#{CREATOR}"}},
    )["Items"]
    assert items == []


def test_malformed_json_is_400(api, people):
    reply = api.post("/api/v1/live-stream/create", body="{not json", headers={"Content-Type": "application/json"}, user=CREATOR)
    assert reply.status == 400 and reply.errors == ["Validation failed", "body: must be valid JSON"]


def test_unsupported_content_type_is_415(api, people):
    reply = api.post("/api/v1/live-stream/create", body="title=x", headers={"Content-Type": "text/plain"}, user=CREATOR)
    assert reply.status == 415 and reply.errors[0] == "Unsupported media type"


def test_without_a_token_is_401(api, people):
    reply = api.post("/api/v1/live-stream/create", json_body={"title": "x"})
    assert reply.status == 401 and reply.errors[0] == "Authentication required"


# ---------------------------------------------------------------- multipart and thumbnails


def test_multipart_with_a_png_thumbnail_is_stored_in_s3(api, aws, people):
    body, content_type = multipart({"title": "Şarkı ılık", "guests": f'["{GUEST}"]', "price": "5", "thumbnail": ("t.png", PNG, "image/png")})
    reply = api.post("/api/v1/live-stream/create", body=body, headers={"Content-Type": content_type}, user=CREATOR)
    assert reply.status == 201, reply.json
    stream = reply.data
    assert stream["title"] == "Şarkı ılık" and stream["channelName"].startswith("sarki-ilik-")
    assert stream["accessType"] == "paid" and [g["_id"] for g in stream["guests"]] == [GUEST]
    key = f"thumbnails/{stream['id']}.png"
    assert stream["thumbnailUrl"] == f"https://cdn.test/thumbs/{key}"
    obj = boto3.client("s3").get_object(Bucket=aws.names["ThumbnailBucket"], Key=key)
    assert (
        obj["Body"].read().startswith(b"\x89PNG\r\n\x1a\n") and obj["ContentType"] == "image/png"
    )  # re-encoded: tests/integration/test_thumbnails.py


def test_a_thumbnail_that_is_not_an_image_is_415(api, people):
    body, content_type = multipart({"title": "t", "thumbnail": ("x.png", b"GIF89a" + b"0" * 20, "image/png")})
    reply = api.post("/api/v1/live-stream/create", body=body, headers={"Content-Type": content_type}, user=CREATOR)
    assert reply.status == 415 and reply.errors == ["Unsupported media type", "thumbnail: must be a JPEG, PNG or WebP image"]


def test_a_thumbnail_over_4_mib_is_413(api, people):
    big = PNG + b"0" * (4 * 1024 * 1024)
    body, content_type = multipart({"title": "t", "thumbnail": ("x.png", big, "image/png")})
    reply = api.post("/api/v1/live-stream/create", body=body, headers={"Content-Type": content_type}, user=CREATOR)
    assert reply.status == 413 and reply.errors[0] == "Payload too large"


def test_the_thumbnail_is_removed_when_the_stream_write_fails(api, aws, people, monkeypatch):
    from livestream import store

    def failing_transact(items):
        raise RuntimeError("DynamoDB is down")

    monkeypatch.setattr(store, "transact", failing_transact)
    body, content_type = multipart({"title": "t", "thumbnail": ("x.png", PNG, "image/png")})
    reply = api.post("/api/v1/live-stream/create", body=body, headers={"Content-Type": content_type}, user=CREATOR)
    assert reply.status == 500 and reply.errors == ["Internal server error"]
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=aws.names["ThumbnailBucket"])


def test_multipart_without_boundary_is_400(api, people):
    reply = api.post("/api/v1/live-stream/create", body="x", headers={"Content-Type": "multipart/form-data"}, user=CREATOR)
    assert reply.status == 400 and reply.errors[0] == "Validation failed"


def test_multipart_sent_as_text_is_still_read_as_utf8(api, people):
    """A multipart body that arrives without base64 (a stage without the binary media type), with its
    media type in capitals, keeps its Turkish text."""
    body, content_type = multipart({"title": "Işıl ğüzel"})
    headers = {"Content-Type": content_type.replace("multipart", "Multipart")}
    reply = api.post("/api/v1/live-stream/create", body=body, headers=headers, user=CREATOR, as_text=True)
    assert reply.status == 201 and reply.data["title"] == "Işıl ğüzel"


# ---------------------------------------------------------------- idempotency


def _create_with_key(api, key, user=CREATOR, **fields):
    return api.post("/api/v1/live-stream/create", json_body={"title": "Idem", **fields}, headers={"Idempotency-Key": key}, user=user)


def test_a_retried_create_returns_the_first_stream(api, people):
    first = _create_with_key(api, "key-1")
    again = _create_with_key(api, "key-1")
    assert first.status == again.status == 201
    assert again.data["id"] == first.data["id"] and again.data["channelName"] == first.data["channelName"]
    assert _create_with_key(api, "key-2").data["id"] != first.data["id"]


def test_idempotency_keys_are_scoped_to_the_caller(api, people):
    mine = _create_with_key(api, "shared", user=CREATOR)
    theirs = _create_with_key(api, "shared", user=OTHER)
    assert theirs.status == 201 and theirs.data["id"] != mine.data["id"] and theirs.data["creator"]["_id"] == OTHER


def test_the_same_key_with_another_body_is_409(api, people):
    _create_with_key(api, "key-1")
    reply = _create_with_key(api, "key-1", title="Something else")
    assert reply.status == 409 and reply.errors[0] == "Resource already exists or cannot be changed in its current state"


def test_idempotency_keys_are_kept_24_hours(api, aws, people, monkeypatch):
    """A retry within 24 hours answers the first stream; the same key a day later creates a new one."""
    first = _create_with_key(api, "daily")
    (record,) = boto3.client("dynamodb").scan(TableName=aws.names["IdempotencyTable"])["Items"]
    assert abs(int(record["expiration"]["N"]) - (time.time() + 86400)) < 60
    later = datetime.now(UTC) + timedelta(hours=24, minutes=1)
    monkeypatch.setattr("livestream.idempotency.now", lambda: later)
    again = _create_with_key(api, "daily")
    assert again.status == 201 and again.data["id"] != first.data["id"]


def test_a_key_held_by_a_running_create_is_409_then_answers_its_stream(api, aws, people, monkeypatch):
    """The records are those of Powertools' idempotency utility, which kept create's keys before: one it
    wrote is honoured (deployed versions may overlap), and while its request runs a retry is refused."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig, idempotent_function

    from livestream.create_command import CreateStreamCommand

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "CreateStreamFunction")
    body = {"command": CreateStreamCommand.validate({"title": "Idem"}).fingerprint(), "thumbnail": None}
    persistence = DynamoDBPersistenceLayer(table_name=aws.names["IdempotencyTable"], boto3_client=boto3.client("dynamodb"))
    config = IdempotencyConfig(event_key_jmespath="[user, key]", payload_validation_jmespath="body", expires_after_seconds=86400)
    retries = []

    def create_stream(request):
        retries.append(_create_with_key(api, "older"))
        return {"id": "64d15f9e2e6c8f4d5a0000aa", "title": "Idem"}

    # named as the utility named create's idempotent function
    create_stream.__module__, create_stream.__qualname__ = "livestream.idempotency", "run_once.<locals>.create_stream"
    once = idempotent_function(data_keyword_argument="request", persistence_store=persistence, config=config)(create_stream)
    once(request={"user": CREATOR, "key": "older", "body": body})
    (running,) = retries
    assert running.status == 409 and running.errors[-1] == "Idempotency-Key: a request with this key is still in progress"
    again = _create_with_key(api, "older")
    assert again.status == 201 and again.data == {"id": "64d15f9e2e6c8f4d5a0000aa", "title": "Idem"}
    assert _create_with_key(api, "older", durationGoal=5).status == 409


def test_a_failed_create_does_not_burn_the_key(api, people):
    assert _create_with_key(api, "key-1", guests=[user_id(999)]).status == 400
    assert _create_with_key(api, "key-1").status == 201


def test_a_channel_name_already_taken_is_drawn_again(api, people, monkeypatch):
    from livestream import streams

    names = iter(["same-aaaaaa", "same-aaaaaa", "same-bbbbbb"])
    monkeypatch.setattr(streams, "channel_name", lambda title: next(names))
    first, second = api.create(CREATOR).data, api.create(CREATOR).data
    assert (first["channelName"], second["channelName"]) == ("same-aaaaaa", "same-bbbbbb")
