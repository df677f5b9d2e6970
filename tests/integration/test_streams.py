"""GET a stream, start and end it: roles, conditional transitions, 404/403/409."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from livestream.clock import iso
from tests.support import make_token, user_id

CREATOR, GUEST, CO_HOST, STRANGER = user_id(1), user_id(2), user_id(3), user_id(4)


@pytest.fixture
def people(api):
    for uid in (CREATOR, GUEST, CO_HOST, STRANGER):
        api.add_user(uid)


@pytest.fixture
def scheduled(api, people):
    start = iso(datetime.now(UTC) + timedelta(hours=2))
    return api.create(CREATOR, liveStreamType="multi", plannedStartDate=start, guests=[GUEST], broadcasters=[CO_HOST]).data


@pytest.mark.parametrize(("who", "role"), [(CREATOR, "host"), (CO_HOST, "broadcaster"), (GUEST, "guest"), (STRANGER, None), (None, None)])
def test_get_answers_the_callers_role(api, scheduled, who, role):
    reply = api.get(f"/api/v1/live-stream/{scheduled['id']}", user=who)
    assert reply.status == 200 and reply.function == "GetStreamFunction"
    assert reply.data["role"] == role
    assert {k: v for k, v in reply.data.items() if k != "role"} == {k: v for k, v in scheduled.items() if k != "role"}


def test_get_unknown_stream_is_404_and_malformed_id_is_400(api, people):
    missing = api.get(f"/api/v1/live-stream/{'f' * 24}")
    assert missing.status == 404 and missing.errors[0] == "Resource not found"
    bad = api.get("/api/v1/live-stream/NOT-AN-ID")
    assert bad.status == 400 and bad.errors == ["Validation failed", "id: must be a 24-character lowercase hex id"]


@pytest.mark.parametrize(
    "header",
    [
        "Bearer not-a-jwt",
        "Basic dXNlcjpwYXNz",
        "Bearer " + make_token(user_id(1), secret="another-secret-that-is-long-enough-xx"),
        "Bearer " + make_token(user_id(1), ttl=-60),
        "Bearer " + make_token("not-a-user-id"),
    ],
    # ids that do not depend on the clock: pytest-xdist workers must collect the same test names
    ids=["not-a-jwt", "basic", "wrong-secret", "expired", "bad-sub"],
)
def test_optional_auth_still_rejects_a_bad_token(api, scheduled, header):
    reply = api.get(f"/api/v1/live-stream/{scheduled['id']}", headers={"Authorization": header})
    assert reply.status == 401 and reply.errors[0] == "Authentication required"


def test_start_then_end(api, scheduled):
    path = f"/api/v1/live-stream/{scheduled['id']}"
    started = api.post(f"{path}/start", user=CREATOR)
    assert started.status == 200 and started.function == "StartStreamFunction"
    assert started.data["status"] == "active" and started.data["startedAt"] and started.data["role"] == "host"
    ended = api.post(f"{path}/end", user=CREATOR)
    assert ended.status == 200 and ended.data["status"] == "ended" and ended.data["endedAt"]
    assert ended.data["startedAt"] == started.data["startedAt"]
    assert api.get(path).data["status"] == "ended"


def test_ending_a_scheduled_stream_cancels_it(api, scheduled):
    reply = api.post(f"/api/v1/live-stream/{scheduled['id']}/end", user=CREATOR)
    assert reply.status == 200 and reply.data["status"] == "cancelled" and reply.data["startedAt"] is None


@pytest.mark.parametrize(
    ("steps", "action"),
    [
        ([], "start_active"),
        (["end"], "start"),  # cancelled
        (["start", "end"], "start"),  # ended
        (["start", "end"], "end"),
        (["end"], "end"),
    ],
)
def test_any_other_transition_is_409(api, scheduled, steps, action):
    path = f"/api/v1/live-stream/{scheduled['id']}"
    if action == "start_active":
        assert api.post(f"{path}/start", user=CREATOR).status == 200
        action = "start"
    for step in steps:
        assert api.post(f"{path}/{step}", user=CREATOR).status == 200
    before = api.get(path).data
    reply = api.post(f"{path}/{action}", user=CREATOR)
    assert reply.status == 409 and reply.errors[0] == "Resource already exists or cannot be changed in its current state"
    assert api.get(path).data == before


def test_a_live_now_stream_cannot_be_started_again(api, people):
    stream = api.create(CREATOR).data
    assert api.post(f"/api/v1/live-stream/{stream['id']}/start", user=CREATOR).status == 409


@pytest.mark.parametrize("who", [GUEST, CO_HOST, STRANGER])
def test_only_the_creator_starts_or_ends(api, scheduled, who):
    for action in ("start", "end"):
        reply = api.post(f"/api/v1/live-stream/{scheduled['id']}/{action}", user=who)
        assert reply.status == 403 and reply.errors[0] == "Insufficient permissions"
    assert api.get(f"/api/v1/live-stream/{scheduled['id']}").data["status"] == "scheduled"


def test_transitions_need_a_token_and_an_existing_stream(api, people):
    assert api.post(f"/api/v1/live-stream/{'a' * 24}/start").status == 401
    assert api.post(f"/api/v1/live-stream/{'a' * 24}/start", user=CREATOR).status == 404
    assert api.post("/api/v1/live-stream/xyz/end", user=CREATOR).status == 400


def test_a_concurrent_transition_loses_with_409(api, scheduled, monkeypatch):
    """The write is conditional on the status read: if another request changed it in between, 409."""
    from livestream import store, streams

    real_load = streams.load

    def stale_load(stream_id):
        item = real_load(stream_id)
        api.post(f"/api/v1/live-stream/{stream_id}/end", user=CREATOR)  # someone cancels it meanwhile
        return item

    monkeypatch.setattr(streams, "load", stale_load)
    reply = api.post(f"/api/v1/live-stream/{scheduled['id']}/start", user=CREATOR)
    monkeypatch.setattr(streams, "load", real_load)
    assert reply.status == 409
    assert api.get(f"/api/v1/live-stream/{scheduled['id']}").data["status"] == "cancelled"
    assert store.get(store.stream_key(scheduled["id"]))["statePk"] == "STATE#ended"


def test_member_index_follows_the_status(api, aws, scheduled):
    """Memberships are indexed under the scheduled start, then the live start, and leave the index when ended."""
    import boto3

    def member_keys(user):
        return [
            i["memberSk"]["S"]
            for i in boto3.client("dynamodb").query(
                TableName=aws.table(),
                IndexName="MemberIndex",
                KeyConditionExpression="memberPk = :p",
                ExpressionAttributeValues={":p": {"S": f"MEMBER#{user}"}},
            )["Items"]
        ]

    assert member_keys(GUEST) == [f"S#{scheduled['plannedStartDate']}#{scheduled['id']}"]
    started = api.post(f"/api/v1/live-stream/{scheduled['id']}/start", user=CREATOR).data
    assert member_keys(CO_HOST) == [f"A#{started['startedAt']}#{scheduled['id']}"]
    api.post(f"/api/v1/live-stream/{scheduled['id']}/end", user=CREATOR)
    assert member_keys(CREATOR) == member_keys(GUEST) == []
