"""Dependencies failing: DynamoDB, S3, Secrets Manager and SQS throttle or fail → 503 `Service
unavailable` with Retry-After, and nothing half written; the dispatcher resumes exactly.

Faults are injected through botocore's event system (tests/fault_injection.py): deterministic, no
network, no retries, no sleeps. After each fault the same request, repeated once the dependency is
back, succeeds — what a client does with Retry-After.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from livestream import media, reminders, store
from livestream.clock import iso
from tests.fault_injection import Faults, recording_sends
from tests.support import API_TOKEN, PNG, as_function, multipart, reset_caches, user_id

HOST, CO_HOST, GUEST, FAN = user_id(1), user_id(2), user_id(3), user_id(4)
FANS = [user_id(1000 + n) for n in range(25)]

THROTTLED = "ProvisionedThroughputExceededException"


def dispatch_run(**kwargs):
    """The dispatcher's layer entry point, run as ReminderDispatchFunction (its environment and policy)."""
    with as_function("ReminderDispatchFunction"):
        return reminders.dispatch(**kwargs)


@pytest.fixture
def faults():
    injected = Faults()
    yield injected
    injected.clear()


@pytest.fixture
def people(api):
    for uid in (HOST, CO_HOST, GUEST, FAN):
        api.add_user(uid)


@pytest.fixture
def live(api, people):
    """A live multi stream with a co-host and a guest."""
    return api.create(HOST, liveStreamType="multi", broadcasters=[CO_HOST], guests=[GUEST]).data


def at(minutes: float) -> str:
    return iso(datetime.now(timezone.utc) + timedelta(minutes=minutes))


def snapshot(aws) -> list[dict]:
    """The whole table (test only: a Scan), to compare before and after a failed request."""
    items, kwargs = [], {"TableName": aws.table(), "ConsistentRead": True}
    while True:
        page = store.client().scan(**kwargs)
        items += [store.deserialize(i) for i in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda i: (i["pk"], i["sk"]))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def bucket_keys(aws) -> list[str]:
    return [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=aws.names["ThumbnailBucket"]).get("Contents", [])]


def assert_unavailable(reply, retry_after: str) -> None:
    assert reply.status == 503, reply.json
    assert reply.json["isSuccess"] is False and reply.json["statusCode"] == 503 and reply.data is None
    assert reply.errors == ["Service unavailable"]
    assert reply.headers["retry-after"] == retry_after


def secrets_client():
    """The layer's Secrets Manager client, with no secret cached (so the next request reads)."""
    from livestream import secrets

    reset_caches()
    return secrets._client()


# ---------------------------------------------------------------- every endpoint that writes


def _write_requests(api, live):
    """(name, the DynamoDB write it makes, the request) for every endpoint that writes."""
    sid = live["id"]
    scheduled = api.create(HOST, plannedStartDate=at(60)).data
    return {
        "create": ("TransactWriteItems", lambda: api.create(HOST, title="Again")),
        "start": ("TransactWriteItems", lambda: api.post(f"/api/v1/live-stream/{scheduled['id']}/start", user=HOST)),
        "end": ("TransactWriteItems", lambda: api.post(f"/api/v1/live-stream/{sid}/end", user=HOST)),
        "cancel": ("TransactWriteItems", lambda: api.post(f"/api/v1/live-stream/{scheduled['id']}/end", user=HOST)),
        "join-as-audience": (
            "TransactWriteItems",
            lambda: api.post("/api/v1/live-stream/join-as-audience", json_body={"liveStreamId": sid}, user=FAN),
        ),
        "join-as-broadcaster": (
            "TransactWriteItems",
            lambda: api.post("/api/v1/live-stream/join-as-broadcaster", json_body={"liveStreamId": sid}, user=CO_HOST),
        ),
        "join-as-guest": ("TransactWriteItems", lambda: api.post("/api/v1/live-stream/join-as-guest", json_body={"liveStreamId": sid}, user=GUEST)),
        "reminder-on": ("TransactWriteItems", lambda: api.post(f"/api/v1/live-stream/{scheduled['id']}/reminder", user=FAN)),
        "reminder-off": ("TransactWriteItems", lambda: api.delete(f"/api/v1/live-stream/{scheduled['id']}/reminder", user=FAN)),
        "upsert-user": (
            "PutItem",
            lambda: api.put(f"/internal/v1/users/{FANS[0]}", json_body={"username": "u", "name": "N", "surname": "S"}, api_token=API_TOKEN),
        ),
        "follow": ("TransactWriteItems", lambda: api.put(f"/internal/v1/users/{FAN}/following/{HOST}", api_token=API_TOKEN)),
        "unfollow": ("TransactWriteItems", lambda: api.delete(f"/internal/v1/users/{FAN}/following/{HOST}", api_token=API_TOKEN)),
        "grant-access": ("TransactWriteItems", lambda: api.put(f"/internal/v1/live-stream/{sid}/access/{FAN}", api_token=API_TOKEN)),
    }


ENDPOINTS = [
    "create",
    "start",
    "end",
    "cancel",
    "join-as-audience",
    "join-as-broadcaster",
    "join-as-guest",
    "reminder-on",
    "reminder-off",
    "upsert-user",
    "follow",
    "unfollow",
    "grant-access",
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_throttled_write_is_503_and_writes_nothing(api, aws, live, faults, endpoint):
    operation, request = _write_requests(api, live)[endpoint]
    api.put(f"/internal/v1/users/{FAN}/following/{HOST}", api_token=API_TOKEN)  # something for unfollow to remove
    before = snapshot(aws)
    faults.error(store.client(), operation, THROTTLED)
    assert_unavailable(request(), "1")
    assert faults.injected, "the fault was not reached"
    assert snapshot(aws) == before
    faults.clear()
    again = request()
    assert again.status in (200, 201), again.json


def test_leave_under_faults_moves_no_counter_without_its_participant(api, aws, live, faults):
    join = api.post("/api/v1/live-stream/join-as-audience", json_body={"liveStreamId": live["id"]}, user=FAN)
    assert join.status == 200
    api.settle()
    before = snapshot(aws)
    faults.error(store.client(), "UpdateItem", THROTTLED)  # the leave is one conditional write of the participant
    assert_unavailable(api.post(f"/api/v1/live-stream/{live['id']}/leave", user=FAN), "1")
    api.settle()
    assert snapshot(aws) == before
    faults.clear()
    assert api.post(f"/api/v1/live-stream/{live['id']}/leave", user=FAN).data["left"] is True
    api.settle()
    stream = store.get(store.stream_key(live["id"]))
    assert stream["audienceCount"] == 0 and stream["peakAudience"] == 1


def test_a_publisher_leaving_under_throttling_is_503(api, aws, live, faults):
    assert api.post("/api/v1/live-stream/join-as-broadcaster", json_body={"liveStreamId": live["id"]}, user=CO_HOST).status == 200
    faults.error(store.client(), "UpdateItem", THROTTLED)
    assert_unavailable(api.post(f"/api/v1/live-stream/{live['id']}/leave", user=CO_HOST), "1")
    assert store.get(store.part_key(live["id"], CO_HOST))["streaming"] is True
    faults.clear()
    assert api.post(f"/api/v1/live-stream/{live['id']}/leave", user=CO_HOST).data["left"] is True


# ---------------------------------------------------------------- every kind of DynamoDB failure


@pytest.mark.parametrize(
    ("fault", "retry_after"),
    [
        (("ProvisionedThroughputExceededException", 400), "1"),
        (("ThrottlingException", 400), "1"),
        (("RequestLimitExceeded", 400), "1"),
        (("InternalServerError", 500), "5"),
        (("ServiceUnavailable", 503), "5"),
        (EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"), "5"),
        (ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"), "5"),
        (ConnectTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"), "5"),
    ],
    ids=lambda v: v[0] if isinstance(v, tuple) else type(v).__name__ if isinstance(v, Exception) else v,
)
def test_joining_under_every_kind_of_dynamodb_failure(api, aws, live, faults, fault, retry_after):
    """The join's counter and its participant change together or not at all."""
    before = snapshot(aws)
    if isinstance(fault, Exception):
        faults.raises(store.client(), "TransactWriteItems", fault)
    else:
        faults.error(store.client(), "TransactWriteItems", fault[0], status=fault[1])
    join = lambda: api.post("/api/v1/live-stream/join-as-audience", json_body={"liveStreamId": live["id"]}, user=FAN)  # noqa: E731
    assert_unavailable(join(), retry_after)
    assert snapshot(aws) == before
    faults.clear()
    assert join().status == 200
    api.settle()  # the counters are kept from the table's stream
    stream = store.get(store.stream_key(live["id"]))
    assert (stream["audienceCount"], stream["cumulativeAudience"], stream["peakAudience"]) == (1, 1, 1)


def test_a_read_failing_is_503_too(api, live, faults):
    faults.error(store.client(), "BatchGetItem", "InternalServerError", status=500)
    assert_unavailable(api.get(f"/api/v1/live-stream/{live['id']}", user=FAN), "5")
    faults.error(store.client(), "GetItem", THROTTLED)
    assert_unavailable(api.get(f"/api/v1/live-stream/{live['id']}"), "1")


def test_a_transaction_conflict_that_outlasts_the_retries_is_503(api, aws, live, faults):
    faults.error(store.client(), "TransactWriteItems", "TransactionCanceledException", reasons=["TransactionConflict", "None", "None"])
    assert_unavailable(api.post("/api/v1/live-stream/join-as-audience", json_body={"liveStreamId": live["id"]}, user=FAN), "1")
    assert len(faults.injected) == store.CONFLICT_RETRIES


def test_a_validation_error_from_dynamodb_is_our_fault_500(api, live, faults):
    """Not every AWS error is the dependency failing: a request DynamoDB rejects as invalid is a bug here."""
    faults.error(store.client(), "TransactWriteItems", "ValidationException")
    reply = api.post("/api/v1/live-stream/join-as-audience", json_body={"liveStreamId": live["id"]}, user=FAN)
    assert reply.status == 500 and reply.errors == ["Internal server error"] and "retry-after" not in reply.headers


# ---------------------------------------------------------------- S3: no orphan thumbnail


def _create_with_thumbnail(api, headers=None):
    body, content_type = multipart({"title": "Picture", "thumbnail": ("t.png", PNG, "image/png")})
    return api.post("/api/v1/live-stream/create", body=body, headers={"Content-Type": content_type, **(headers or {})}, user=HOST)


@pytest.mark.parametrize(("code", "status", "retry_after"), [("InternalError", 500, "5"), ("SlowDown", 503, "1"), ("ServiceUnavailable", 503, "5")])
def test_s3_refusing_the_thumbnail_is_503_and_no_stream(api, aws, people, faults, code, status, retry_after):
    before = snapshot(aws)
    faults.error(media._s3(), "PutObject", code, status=status)
    assert_unavailable(_create_with_thumbnail(api), retry_after)
    assert snapshot(aws) == before and bucket_keys(aws) == []
    faults.clear()
    assert _create_with_thumbnail(api).status == 201 and len(bucket_keys(aws)) == 1


@contextmanager
def answer_lost(times: int = 1):
    """The next ``times`` TransactWriteItems calls commit, then their answer never arrives (a read
    timeout after DynamoDB wrote): botocore raises, yet the write happened. Yields how many were lost."""
    lost = []

    def timeout(**_):
        if len(lost) < times:
            lost.append("TransactWriteItems")
            raise ReadTimeoutError(endpoint_url="https://dynamodb")

    client = store.client()
    client.meta.events.register_first("after-call.dynamodb.TransactWriteItems", timeout, unique_id="lost-answer")
    try:
        yield lost
    finally:
        client.meta.events.unregister("after-call.dynamodb.TransactWriteItems", unique_id="lost-answer")


@contextmanager
def recording(*calls):
    """Every ``(client, operation)`` call made meanwhile, in order, as ``(operation, its parameters)``."""
    made = []
    registered = []
    for client, operation in calls:
        event = f"provide-client-params.{client.meta.service_model.service_id.hyphenize()}.{operation}"
        unique_id = f"recording-{operation}"
        client.meta.events.register(event, lambda params, _op=operation, **_: made.append((_op, dict(params))), unique_id=unique_id)
        registered.append((client, event, unique_id))
    try:
        yield made
    finally:
        for client, event, unique_id in registered:
            client.meta.events.unregister(event, unique_id=unique_id)


def thumbnail_behind(aws, stream) -> bytes:
    """The image a stream's ``thumbnailUrl`` shows: the bucket's object under the CDN path (raises if missing)."""
    key = stream["thumbnailUrl"].removeprefix("https://cdn.test/thumbs/")
    return boto3.client("s3").get_object(Bucket=aws.names["ThumbnailBucket"], Key=key)["Body"].read()


@pytest.mark.parametrize("key", [None, "k-thumb"], ids=["without-key", "with-key"])
def test_a_stream_written_although_its_answer_was_lost_keeps_its_thumbnail(api, aws, people, key):
    """The transaction commits but its answer is lost: the client gets a 503, yet the stream exists and
    its thumbnail must stay. Read, the stream shows its image; with a key, the retry answers that same
    stream, image and all."""
    headers = {"Idempotency-Key": key} if key else None
    with answer_lost() as lost:
        assert_unavailable(_create_with_thumbnail(api, headers), "5")
    [written] = creator_streams(aws)
    assert lost and len(bucket_keys(aws)) == 1
    shown = api.get(f"/api/v1/live-stream/{written['id']['S']}", user=HOST)
    assert shown.status == 200 and thumbnail_behind(aws, shown.data).startswith(b"\x89PNG")
    if key:
        again = _create_with_thumbnail(api, headers)
        assert again.status == 201 and again.data["id"] == written["id"]["S"]
        assert thumbnail_behind(aws, again.data).startswith(b"\x89PNG") and len(creator_streams(aws)) == 1


@pytest.mark.parametrize(
    ("code", "reasons", "status"),
    [
        ("TransactionCanceledException", ["ThrottlingError", "None", "None"], 503),  # cancelled: an item throttled
        ("TransactionCanceledException", ["None", "ConditionalCheckFailed", "None"], 500),  # the channel name taken, every try
        ("ValidationException", None, 500),  # a request DynamoDB rejects as invalid
    ],
    ids=["cancelled-throttled", "condition-failed", "validation-error"],
)
def test_a_refused_stream_write_deletes_its_thumbnail_without_reading_back(api, aws, people, faults, code, reasons, status):
    """DynamoDB refused the write: nothing was written, so the thumbnail goes at once. The stream is not
    read back: were it read, that read (failing here) would keep the image."""
    before = snapshot(aws)
    faults.error(store.client(), "TransactWriteItems", code, reasons=reasons)
    faults.error(store.client(), "GetItem", THROTTLED)
    reply = _create_with_thumbnail(api)
    assert reply.status == status, reply.json
    assert bucket_keys(aws) == [] and snapshot(aws) == before
    assert "GetItem:" + THROTTLED not in faults.injected


UNKNOWN_OUTCOMES = {
    "internal-error": (lambda faults: faults.error(store.client(), "TransactWriteItems", "InternalServerError", status=500), "5"),
    "throttled": (lambda faults: faults.error(store.client(), "TransactWriteItems", THROTTLED), "1"),
    "read-timeout": (lambda faults: faults.raises(store.client(), "TransactWriteItems", ReadTimeoutError(endpoint_url="https://dynamodb")), "5"),
}


@pytest.mark.parametrize("fault", list(UNKNOWN_OUTCOMES))
def test_a_stream_write_of_unknown_outcome_that_wrote_nothing_deletes_its_thumbnail_once_read_back(api, aws, people, faults, fault):
    """A failure that does not say whether the write happened (here it did not): the stream is read back,
    consistently, and only then, found absent, its thumbnail deleted. Nothing is left behind."""
    inject, retry_after = UNKNOWN_OUTCOMES[fault]
    before = snapshot(aws)
    inject(faults)
    with recording((store.client(), "GetItem"), (media._s3(), "DeleteObject")) as made:
        assert_unavailable(_create_with_thumbnail(api), retry_after)
    assert bucket_keys(aws) == [] and snapshot(aws) == before
    assert [operation for operation, _ in made] == ["GetItem", "DeleteObject"]  # read back first, then deleted
    (_, read), (_, deleted) = made
    stream_id = deleted["Key"].removeprefix("thumbnails/").split(".")[0]
    assert read["Key"] == store.serialize(store.stream_key(stream_id)) and read["ConsistentRead"] is True


@pytest.mark.parametrize("committed", [False, True], ids=["not-written", "written"])
def test_a_stream_write_of_unknown_outcome_and_an_unreadable_stream_keep_the_thumbnail(api, aws, people, faults, caplog, committed):
    """The write's outcome is unknown and reading the stream back fails too: the thumbnail stays, logged by
    key (an orphan costs a few KB; a missing one would break the stream). Had the stream been written, the
    retry with the key answers it with its image."""
    headers = {"Idempotency-Key": "k-unread"}
    faults.error(store.client(), "GetItem", THROTTLED)
    if not committed:
        faults.error(store.client(), "TransactWriteItems", "InternalServerError", status=500)
    with answer_lost(times=1 if committed else 0):
        assert_unavailable(_create_with_thumbnail(api, headers), "5")
    [kept] = bucket_keys(aws)
    assert [r.levelname for r in caplog.records if getattr(r, "thumbnailKey", None) == kept] == ["ERROR"]
    assert len(creator_streams(aws)) == (1 if committed else 0)
    if committed:
        faults.clear()
        again = _create_with_thumbnail(api, headers)
        assert again.status == 201 and thumbnail_behind(aws, again.data).startswith(b"\x89PNG")


def test_a_stream_written_with_its_thumbnail_reads_nothing_back_and_loads_nothing_more(api, aws, people, monkeypatch):
    """The success path costs what it did: no read back, no delete, and the failure paths' module never loaded."""
    monkeypatch.delattr(store, "outcome", raising=False)
    monkeypatch.setitem(sys.modules, "livestream.store.outcome", None)  # importing it now fails
    with recording((store.client(), "GetItem"), (media._s3(), "DeleteObject")) as made:
        reply = _create_with_thumbnail(api)
    assert reply.status == 201 and made == []
    assert thumbnail_behind(aws, reply.data).startswith(b"\x89PNG")


def test_two_faults_at_once_answer_the_first_and_log_the_thumbnail_left_behind(api, aws, people, faults, caplog):
    """The stream write fails and S3 then refuses the delete: the client learns the stream write's
    503 (throttled: Retry-After 1), and the unreferenced object is logged by key for removal."""
    faults.error(store.client(), "TransactWriteItems", THROTTLED)
    faults.error(media._s3(), "DeleteObject", "InternalError", status=500)
    assert_unavailable(_create_with_thumbnail(api), "1")
    [left] = bucket_keys(aws)
    assert [r.levelname for r in caplog.records if getattr(r, "thumbnailKey", None) == left] == ["ERROR"]


def test_the_batch_read_of_profiles_throttled_is_503_before_any_upload(api, aws, people, faults):
    faults.error(store.client(), "BatchGetItem", THROTTLED)
    assert_unavailable(_create_with_thumbnail(api), "1")
    assert bucket_keys(aws) == []


# ---------------------------------------------------------------- idempotency store


def _keyed_create(api, key):
    return api.post("/api/v1/live-stream/create", json_body={"title": "Once"}, headers={"Idempotency-Key": key}, user=HOST)


def creator_streams(aws) -> list[dict]:
    return store.client().query(
        TableName=aws.table(),
        IndexName="CreatorIndex",
        KeyConditionExpression="creatorPk = :pk",
        ExpressionAttributeValues=store.values({":pk": f"CREATOR#{HOST}"}),
    )["Items"]


def key_records(aws) -> list[dict]:
    """The idempotency table (test only: a Scan)."""
    items = store.client().scan(TableName=aws.names["IdempotencyTable"], ConsistentRead=True)["Items"]
    return [store.deserialize(i) for i in items]


def test_the_idempotency_store_failing_is_503_and_the_key_stays_usable(api, aws, people, faults):
    before = snapshot(aws)
    faults.error(store.client(), "PutItem", THROTTLED)  # the idempotency record's claim (the stream is one transaction)
    assert_unavailable(_keyed_create(api, "k-1"), "1")  # throttled, as any other DynamoDB call
    assert snapshot(aws) == before
    faults.clear()
    first, again = _keyed_create(api, "k-1"), _keyed_create(api, "k-1")
    assert first.status == again.status == 201 and first.data["id"] == again.data["id"]


def test_a_create_failing_with_a_key_can_be_retried_with_that_key(api, aws, people, faults):
    faults.error(store.client(), "TransactWriteItems", "InternalServerError", status=500)
    assert_unavailable(_keyed_create(api, "k-2"), "5")
    faults.clear()
    first, again = _keyed_create(api, "k-2"), _keyed_create(api, "k-2")
    assert first.status == again.status == 201 and first.data["id"] == again.data["id"]
    assert len(creator_streams(aws)) == 1


def test_the_key_failing_to_complete_writes_no_stream_and_a_retry_creates_one(api, aws, people, faults):
    """The write that completes the key's record is refused (throttled): the stream is not written
    either (one transaction), the key is free, and the retry creates the one stream both answers name."""
    before = snapshot(aws)
    completing = lambda body: b'"COMPLETED"' in body  # noqa: E731 - the record's completion, wherever it is written
    # the transaction: stream, channel guard, the host's membership and, last, the key's record
    faults.error(
        store.client(), "TransactWriteItems", "TransactionCanceledException", reasons=["None", "None", "None", "ThrottlingError"], when=completing
    )
    faults.error(store.client(), "UpdateItem", THROTTLED, when=completing)
    assert_unavailable(_keyed_create(api, "k-3"), "1")
    assert faults.injected, "the record's completion was not reached"
    assert snapshot(aws) == before and key_records(aws) == []
    faults.clear()
    first, again = _keyed_create(api, "k-3"), _keyed_create(api, "k-3")
    assert first.status == again.status == 201 and first.data["id"] == again.data["id"]
    assert [s["id"]["S"] for s in creator_streams(aws)] == [first.data["id"]]
    [record] = key_records(aws)
    assert record["status"] == "COMPLETED" and json.loads(record["data"])["id"] == first.data["id"]


def test_a_create_whose_answer_was_lost_after_the_commit_is_answered_by_the_retry(api, aws, people, faults):
    """The transaction commits but its answer never arrives (a read timeout): the client gets a 503,
    and its retry answers the stream that was written, not a second one."""
    with answer_lost() as lost:
        assert_unavailable(_keyed_create(api, "k-4"), "5")
    assert lost and len(creator_streams(aws)) == 1
    again = _keyed_create(api, "k-4")
    assert again.status == 201 and [s["id"]["S"] for s in creator_streams(aws)] == [again.data["id"]]


def test_a_create_whose_key_was_taken_over_writes_no_stream(api, aws, people, faults, monkeypatch):
    """A create runs past its invocation's deadline, and a retry takes its expired claim over and creates
    the stream: the first one's transaction is then cancelled (409, nothing written), it leaves the
    retry's record alone, and the key answers the retry's stream, the only one."""
    from livestream import idempotency

    retries, started = [], []

    def retry_past_the_deadline(**_):
        if started:
            return  # the retry's own transaction
        started.append(True)
        later = datetime.now(timezone.utc) + timedelta(minutes=20)  # past any invocation's timeout
        with monkeypatch.context() as clock:
            clock.setattr(idempotency, "now", lambda: later)
            retries.append(_keyed_create(api, "k-5"))

    client = store.client()
    client.meta.events.register_first("before-call.dynamodb.TransactWriteItems", retry_past_the_deadline, unique_id="takeover")
    try:
        first = _keyed_create(api, "k-5")
    finally:
        client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", unique_id="takeover")
    [retry] = retries
    assert retry.status == 201
    assert first.status == 409 and first.errors[-1] == "Idempotency-Key: a request with this key is still in progress"
    assert [s["id"]["S"] for s in creator_streams(aws)] == [retry.data["id"]]
    again = _keyed_create(api, "k-5")
    assert again.status == 201 and again.data["id"] == retry.data["id"]


# ---------------------------------------------------------------- Secrets Manager


def test_the_jwt_secret_unavailable_is_503(api, aws, people, faults):
    before = snapshot(aws)
    faults.error(secrets_client(), "GetSecretValue", "InternalServiceError", status=500)
    assert_unavailable(api.create(HOST), "5")
    assert snapshot(aws) == before


def test_the_api_token_secret_unavailable_is_503(api, aws, people, faults):
    faults.error(secrets_client(), "GetSecretValue", "ThrottlingException")
    assert_unavailable(api.put(f"/internal/v1/users/{FAN}/following/{HOST}", api_token=API_TOKEN), "5")
    faults.clear()
    assert api.put(f"/internal/v1/users/{FAN}/following/{HOST}", api_token=API_TOKEN).status == 200


def test_the_agora_secret_unavailable_is_503_and_the_join_is_not_recorded(api, aws, live, faults):
    """Tokens cannot be minted: the join is refused before anything is written."""
    client = secrets_client()
    api.get(f"/api/v1/live-stream/{live['id']}", user=FAN)  # the JWT secret is read and cached
    faults.error(client, "GetSecretValue", "InternalServiceError", status=500)
    before = snapshot(aws)
    join = lambda: api.post("/api/v1/live-stream/join-as-audience", json_body={"liveStreamId": live["id"]}, user=FAN)  # noqa: E731
    assert_unavailable(join(), "5")
    assert snapshot(aws) == before
    faults.clear()
    assert join().status == 200
    assert api.post(f"/api/v1/live-stream/{live['id']}/token", user=FAN).status == 200


def test_token_renewal_without_the_agora_secret_is_503(api, live, faults):
    assert api.post("/api/v1/live-stream/join-as-audience", json_body={"liveStreamId": live["id"]}, user=FAN).status == 200
    client = secrets_client()
    api.get(f"/api/v1/live-stream/{live['id']}", user=FAN)  # the JWT secret again; the Agora one is not cached now
    faults.raises(client, "GetSecretValue", EndpointConnectionError(endpoint_url="https://secretsmanager"))
    assert_unavailable(api.post(f"/api/v1/live-stream/{live['id']}/token", user=FAN), "5")


# ---------------------------------------------------------------- the dispatcher resumes exactly


@pytest.fixture
def due(api, people):
    """A stream starting in 5 minutes with 25 reminders on."""
    stream = api.create(HOST, plannedStartDate=at(5)).data
    for fan in FANS:
        assert api.post(f"/api/v1/live-stream/{stream['id']}/reminder", user=fan).status == 200
    return stream


@pytest.fixture
def sends():
    with recording_sends(reminders._sqs()) as accepted:
        yield accepted


def _all_sent_once(sends, stream):
    assert sorted(u for s, u in sends if s == stream["id"]) == FANS, "each reminder handed to SQS exactly once"


@pytest.mark.parametrize(
    "fault",
    ["sqs-error", "sqs-throttled", "sqs-connection", "dynamodb-mark-throttled", "dynamodb-claim-unavailable", "dynamodb-query-throttled"],
)
def test_the_dispatcher_resumes_exactly_after_a_fault(api, aws, due, faults, sends, fault):
    """The second batch meets the fault; the first run stops that stream, and the next run sends
    exactly what was not sent: together, each reminder once (counted at SQS, not by its deduplication)."""
    sqs, ddb = reminders._sqs(), store.client()
    if fault == "sqs-error":
        faults.error(sqs, "SendMessageBatch", "InternalError", status=500, skip=1, times=1)
    elif fault == "sqs-throttled":
        faults.error(sqs, "SendMessageBatch", "RequestThrottled", skip=1, times=1)
    elif fault == "sqs-connection":
        faults.raises(sqs, "SendMessageBatch", EndpointConnectionError(endpoint_url="https://sqs"), times=1)
    elif fault == "dynamodb-mark-throttled":
        faults.error(ddb, "TransactWriteItems", "TransactionCanceledException", skip=1, times=1, reasons=["ThrottlingError"] + ["None"] * 10)
    elif fault == "dynamodb-claim-unavailable":
        faults.error(ddb, "UpdateItem", "ServiceUnavailable", status=503, times=1)
    else:
        faults.error(ddb, "Query", THROTTLED, times=1, when=lambda body: b"REMINDER#" in body)  # the reminders, not DueIndex
    first = dispatch_run(run_id="run-1")
    assert faults.injected and first["failed"] == 1 and first["streams"] == 0
    second = dispatch_run(run_id="run-2")  # the failing run gave its lease up: no wait
    assert second["failed"] == 0 and first["sent"] + second["sent"] == 25
    _all_sent_once(sends, due)
    assert dispatch_run(run_id="run-3") == {"streams": 0, "sent": 0, "failed": 0}
    assert sorted(m["userId"] for m in aws.reminder_messages()) == FANS


def test_a_partial_sqs_batch_leaves_exactly_the_refused_entries_for_the_next_run(api, aws, due, faults, sends):
    refused = {FANS[3], FANS[7]}
    faults.refuse_entries(reminders._sqs(), lambda entry: entry["MessageDeduplicationId"].split(":")[1] in refused, times=1)
    first = dispatch_run(run_id="run-1")
    assert first == {"streams": 0, "sent": 8, "failed": 1}
    assert sorted(u for _, u in sends) == sorted(set(FANS[:10]) - refused)
    assert store.get(store.stream_key(due["id"]))["inFlight"] == [FANS[3], FANS[7]]
    second = dispatch_run(run_id="run-2")
    assert second == {"streams": 1, "sent": 17, "failed": 0}
    assert [u for _, u in sends[8:10]] == [FANS[3], FANS[7]]  # the refused ones first, then the rest
    _all_sent_once(sends, due)


def test_one_failing_stream_does_not_hold_the_others_back(api, aws, people, faults, sends):
    streams = [api.create(HOST, plannedStartDate=at(3 + n)).data for n in range(3)]
    for stream in streams:
        api.post(f"/api/v1/live-stream/{stream['id']}/reminder", user=FAN)
    faults.error(reminders._sqs(), "SendMessageBatch", "InternalError", status=500, times=1)
    assert dispatch_run() == {"streams": 2, "sent": 2, "failed": 1}
    assert dispatch_run() == {"streams": 1, "sent": 1, "failed": 0}
    assert sorted(s for s, _ in sends) == sorted(s["id"] for s in streams)


def test_the_due_index_unreadable_fails_the_run_and_the_next_one_sends_all(api, aws, due, faults, sends):
    faults.error(store.client(), "Query", "InternalServerError", status=500, times=1)
    with pytest.raises(Exception, match="InternalServerError"):
        dispatch_run()
    assert sends == []
    assert dispatch_run()["sent"] == 25
    _all_sent_once(sends, due)


def test_a_crash_that_a_dependency_did_not_cause_still_fails_the_run(api, aws, due, monkeypatch):
    """Our own bugs are not swallowed as "the dependency failed"."""
    monkeypatch.setattr(reminders, "message", lambda *a: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        dispatch_run()
