"""Joining as broadcaster, guest and audience; leaving; token renewal; Agora tokens checked byte by byte."""

from __future__ import annotations

import base64
import hmac
import struct
import time
import zlib
from datetime import datetime, timedelta, timezone
from hashlib import sha256

import pytest

from livestream import store
from livestream.clock import iso, parse_iso
from tests.agora_tokens import decode_token2
from tests.support import AGORA, API_TOKEN, user_id

HOST, CO_HOST, GUEST, VIEWER, PAYER = (user_id(n) for n in range(1, 6))
JOIN = "/api/v1/live-stream/join-as-{}"


def decode_agora(token: str) -> dict:
    """Unpack an Agora token, 007 (the default) or 006: its privileges as absolute expiry times."""
    if token.startswith("007"):
        decoded = decode_token2(token, AGORA["appCertificate"])
        assert decoded["appId"] == AGORA["appId"]
        ((kind, service),) = decoded["services"].items()
        privileges = {k: decoded["issueTs"] + v for k, v in service["privileges"].items()}
        assert decoded["expire"] == max(service["privileges"].values())
        return {"version": "007", "kind": kind, **service, "privileges": privileges}
    return {"version": "006", **decode_agora006(token)}


def decode_agora006(token: str) -> dict:
    """Unpack an Agora AccessToken (version 006) and check its HMAC-SHA256 signature with the certificate."""
    assert token.startswith("006")
    app_id, content = token[3:35], base64.b64decode(token[35:])

    def take_string(buf):
        (n,) = struct.unpack_from("<H", buf)
        return buf[2 : 2 + n], buf[2 + n :]

    signature, rest = take_string(content)
    crc_channel, crc_uid = struct.unpack_from("<II", rest)
    message, _ = take_string(rest[8:])
    salt, ts, count = struct.unpack_from("<IIH", message)
    privileges = dict(struct.unpack_from("<HI", message, 10 + 6 * i) for i in range(count))
    return {
        "appId": app_id,
        "signature": signature,
        "crcChannel": crc_channel,
        "crcUid": crc_uid,
        "message": message,
        "privileges": privileges,
        "ts": ts,
        "salt": salt,
    }


def assert_signed(decoded: dict, channel: str, account: str) -> None:
    """006: the signature covers app id, channel (RTM: user id) and uid; 007 was verified by the decoder."""
    if decoded["version"] == "007":
        subject = (decoded["channel"], decoded["uid"]) if decoded["kind"] == "rtc" else (decoded["userId"], "")
        assert subject == (channel, account)
        return
    expected = hmac.new(
        AGORA["appCertificate"].encode(), AGORA["appId"].encode() + channel.encode() + account.encode() + decoded["message"], sha256
    ).digest()
    assert hmac.compare_digest(decoded["signature"], expected)
    assert decoded["crcChannel"] == zlib.crc32(channel.encode()) & 0xFFFFFFFF
    assert decoded["crcUid"] == zlib.crc32(account.encode()) & 0xFFFFFFFF


@pytest.fixture
def people(api):
    for uid in (HOST, CO_HOST, GUEST, VIEWER, PAYER):
        api.add_user(uid, name=f"Name{uid[-1]}")


@pytest.fixture
def live(api, people):
    return api.create(HOST, liveStreamType="multi", broadcasters=[CO_HOST], guests=[GUEST]).data


def join(api, who, as_role, stream):
    return api.post(JOIN.format(as_role), json_body={"liveStreamId": stream["id"]}, user=who)


@pytest.mark.parametrize(
    ("who", "as_role", "role"), [(HOST, "broadcaster", "host"), (CO_HOST, "broadcaster", "broadcaster"), (GUEST, "guest", "guest")]
)
def test_publishers_get_a_signed_publisher_token(api, live, who, as_role, role):
    before = int(time.time())
    reply = join(api, who, as_role, live)
    assert reply.status == 200, reply.json
    data = reply.data
    assert set(data) == {"liveStream", "agora", "rtm"}
    assert data["liveStream"]["id"] == live["id"] and data["liveStream"]["role"] == role
    agora, rtm = data["agora"], data["rtm"]
    assert set(agora) == {"appId", "channelName", "token", "uid", "role", "expiresAt"}
    assert set(rtm) == {"appId", "channelName", "userId", "token", "expiresAt"}
    assert agora["appId"] == rtm["appId"] == AGORA["appId"]
    assert agora["channelName"] == rtm["channelName"] == live["channelName"]
    assert agora["role"] == role and rtm["userId"] == who
    assert 1 <= agora["uid"] <= 2**32 - 1
    expires = int(parse_iso(agora["expiresAt"]).timestamp())
    assert before + 3600 <= expires <= int(time.time()) + 3600
    rtc = decode_agora(agora["token"])
    assert_signed(rtc, live["channelName"], str(agora["uid"]))
    assert rtc["privileges"] == {1: expires, 2: expires, 3: expires, 4: expires}  # join + publish audio/video/data
    rtm_token = decode_agora(rtm["token"])
    assert_signed(rtm_token, who, "")
    assert rtm_token["privileges"] == ({1: expires} if rtm_token["version"] == "007" else {1000: expires})  # login


def test_audience_gets_a_subscriber_token_and_becomes_a_viewer(api, live):
    reply = join(api, VIEWER, "audience", live)
    assert reply.status == 200
    agora = reply.data["agora"]
    assert agora["role"] == "audience" and reply.data["liveStream"]["role"] == "audience"
    decoded = decode_agora(agora["token"])
    assert_signed(decoded, live["channelName"], str(agora["uid"]))
    assert set(decoded["privileges"]) == {1}  # join only
    assert api.get(f"/api/v1/live-stream/{live['id']}", user=VIEWER).data["role"] == "audience"
    api.settle()
    stream = store.get(store.stream_key(live["id"]))
    assert (stream["audienceCount"], stream["peakAudience"], stream["cumulativeAudience"]) == (1, 1, 1)


@pytest.mark.parametrize(("who", "role"), [(HOST, "host"), (CO_HOST, "broadcaster"), (GUEST, "guest")])
def test_listed_members_joining_as_audience_keep_their_role_and_are_not_counted(api, live, who, role):
    """Hosts, broadcasters and guests are not audience: joining through join-as-audience gives them their
    role in the stream (publisher tokens), and neither the viewers list nor any count shows them."""
    join(api, VIEWER, "audience", live)
    reply = join(api, who, "audience", live)
    assert reply.status == 200
    agora = reply.data["agora"]
    assert agora["role"] == role and reply.data["liveStream"]["role"] == role
    assert set(decode_agora(agora["token"])["privileges"]) == {1, 2, 3, 4}  # a publisher token
    assert join(api, who, "audience", live).data["agora"]["uid"] == agora["uid"]  # the same uid on a rejoin
    renewed = api.post(f"/api/v1/live-stream/{live['id']}/token", user=who).data["agora"]
    assert (renewed["uid"], renewed["role"]) == (agora["uid"], role)
    api.settle()
    viewers = api.get(f"/api/v1/live-stream/{live['id']}/viewers", user=HOST).data
    assert [v["_id"] for v in viewers["list"]] == [VIEWER]
    assert viewers["participantAudienceTotal"] == viewers["pagination"]["totalItems"] == 1
    stream = store.get(store.stream_key(live["id"]))
    assert (stream["audienceCount"], stream["peakAudience"], stream["cumulativeAudience"]) == (1, 1, 1)
    (event,) = api.get("/v1/live-events", query={"live_event_id": live["id"]}, api_token=API_TOKEN).json["live_events"]
    assert event["participant_count"] == 1
    assert not store.get(store.part_key(live["id"], who)).get("streaming")  # watching is not streaming


def test_token_lifetime_is_configured(api, aws, live):
    aws.with_parameters(AgoraTokenTtlSeconds=120)  # the template parameter behind AGORA_TOKEN_TTL_SECONDS
    agora = join(api, VIEWER, "audience", live).data["agora"]
    assert abs(parse_iso(agora["expiresAt"]).timestamp() - (time.time() + 120)) < 5


def test_rejoining_keeps_the_uid_and_counts_once(api, live):
    first = join(api, VIEWER, "audience", live).data["agora"]["uid"]
    again = join(api, VIEWER, "audience", live).data["agora"]["uid"]
    assert first == again
    api.settle()
    assert store.get(store.stream_key(live["id"]))["audienceCount"] == 1
    api.post(f"/api/v1/live-stream/{live['id']}/leave", user=VIEWER)
    back = join(api, VIEWER, "audience", live).data["agora"]["uid"]
    assert back == first
    api.settle()
    stream = store.get(store.stream_key(live["id"]))
    assert (stream["audienceCount"], stream["peakAudience"], stream["cumulativeAudience"]) == (1, 1, 1)


def test_uids_are_distinct_per_user(api, live):
    uids = {
        join(api, who, role, live).data["agora"]["uid"]
        for who, role in [(HOST, "broadcaster"), (CO_HOST, "broadcaster"), (GUEST, "guest"), (VIEWER, "audience")]
    }
    assert len(uids) == 4 and 0 not in uids


def test_a_uid_collision_moves_to_the_next_candidate(api, live, monkeypatch):
    from livestream import agora

    monkeypatch.setattr(agora, "uid_candidate", lambda stream_id, user, attempt: 42 + attempt)
    assert join(api, VIEWER, "audience", live).data["agora"]["uid"] == 42
    assert join(api, GUEST, "guest", live).data["agora"]["uid"] == 43
    assert store.get(store.uid_key(live["id"], 43))["userId"] == GUEST


@pytest.mark.parametrize(
    ("who", "as_role"),
    [(GUEST, "broadcaster"), (VIEWER, "broadcaster"), (HOST, "guest"), (CO_HOST, "guest"), (VIEWER, "guest")],
)
def test_roles_not_allowed_are_403(api, live, who, as_role):
    reply = join(api, who, as_role, live)
    assert reply.status == 403 and reply.errors[0] == "Insufficient permissions"


def test_state_is_checked_before_role(api, people):
    start = iso(datetime.now(timezone.utc) + timedelta(hours=1))
    scheduled = api.create(HOST, plannedStartDate=start, guests=[GUEST]).data
    assert join(api, VIEWER, "audience", scheduled).status == 409  # audience waits for the start
    assert join(api, HOST, "broadcaster", scheduled).status == 200  # publishers may enter early
    assert join(api, GUEST, "guest", scheduled).status == 200
    api.post(f"/api/v1/live-stream/{scheduled['id']}/end", user=HOST)  # cancelled
    for who, role in [(HOST, "broadcaster"), (VIEWER, "audience"), (VIEWER, "guest")]:
        reply = join(api, who, role, scheduled)
        assert reply.status == 409 and reply.errors[0].startswith("Resource already exists"), (who, role)


def test_paid_streams_need_a_granted_access_for_the_audience(api, people):
    paid = api.create(HOST, price=3.5, guests=[GUEST]).data
    assert join(api, PAYER, "audience", paid).status == 403
    assert api.put(f"/internal/v1/live-stream/{paid['id']}/access/{PAYER}", api_token=API_TOKEN).status == 200
    assert join(api, PAYER, "audience", paid).status == 200
    assert join(api, GUEST, "audience", paid).status == 200  # invited guests may watch without paying


@pytest.mark.parametrize(
    ("body", "status"),
    [({"liveStreamId": "xyz"}, 400), ({}, 400), ({"liveStreamId": "f" * 24}, 404)],
)
def test_bad_bodies_and_unknown_streams(api, people, body, status):
    reply = api.post(JOIN.format("audience"), json_body=body, user=VIEWER)
    assert reply.status == status
    if status == 400:
        assert any(e.startswith("liveStreamId: ") for e in reply.errors[1:])


@pytest.mark.parametrize("role", ["audience", "broadcaster", "guest"])
@pytest.mark.parametrize("body", ["5", '"x"', "[]", "null"])
def test_a_body_that_is_not_a_json_object_is_400_naming_the_body(api, people, role, body):
    reply = api.post(JOIN.format(role), body=body, headers={"Content-Type": "application/json"}, user=VIEWER)
    assert (reply.status, reply.errors) == (400, ["Validation failed", "body: must be an object"])


def test_join_needs_a_token(api, live):
    assert api.post(JOIN.format("audience"), json_body={"liveStreamId": live["id"]}).status == 401


def test_a_join_that_loses_the_race_with_end_is_not_counted(api, live, monkeypatch):
    from livestream import store as store_module

    real = store_module.get_many

    def read_then_end(*keys, **options):
        found = real(*keys, **options)
        api.post(f"/api/v1/live-stream/{live['id']}/end", user=HOST)
        return found

    monkeypatch.setattr(store_module, "get_many", read_then_end)
    join(api, VIEWER, "audience", live)
    monkeypatch.setattr(store_module, "get_many", real)
    api.settle()
    assert store.get(store.stream_key(live["id"])).get("audienceCount", 0) == 0
    assert api.get(f"/api/v1/live-stream/{live['id']}/viewers", user=HOST).data["participantAudienceTotal"] == 0


# ---------------------------------------------------------------- leave


def test_leave_is_idempotent_and_lowers_the_count_once(api, live):
    join(api, VIEWER, "audience", live)
    join(api, PAYER, "audience", live)
    for expected_left in (True, False):
        reply = api.post(f"/api/v1/live-stream/{live['id']}/leave", user=VIEWER)
        assert reply.status == 200 and reply.data == {"liveStreamId": live["id"], "userId": VIEWER, "left": expected_left}
    api.settle()
    stream = store.get(store.stream_key(live["id"]))
    assert (stream["audienceCount"], stream["peakAudience"], stream["cumulativeAudience"]) == (1, 2, 2)
    assert api.get(f"/api/v1/live-stream/{live['id']}", user=VIEWER).data["role"] is None


def test_leaving_a_stream_one_is_not_in_is_a_no_op(api, live):
    reply = api.post(f"/api/v1/live-stream/{live['id']}/leave", user=VIEWER)
    assert reply.status == 200 and reply.data["left"] is False
    assert api.post(f"/api/v1/live-stream/{'f' * 24}/leave", user=VIEWER).status == 404
    assert api.post(f"/api/v1/live-stream/{live['id']}/leave").status == 401


def test_publishers_stop_streaming_on_leave(api, live):
    join(api, CO_HOST, "broadcaster", live)
    assert store.get(store.part_key(live["id"], CO_HOST))["streaming"] is True
    assert api.post(f"/api/v1/live-stream/{live['id']}/leave", user=CO_HOST).data["left"] is True
    assert store.get(store.part_key(live["id"], CO_HOST))["streaming"] is False


def test_the_peak_counts_the_highest_point_within_a_batch(api, live):
    """Two joins and a leave counted in one batch: the peak is the 2 in between, not the 1 at the end."""
    join(api, VIEWER, "audience", live)
    join(api, PAYER, "audience", live)
    api.post(f"/api/v1/live-stream/{live['id']}/leave", user=VIEWER)
    mapping = api.aws.mapping("AudienceCountsFunction")
    api.settle()
    assert mapping.stats.invocations == 1
    stream = store.get(store.stream_key(live["id"]))
    assert (stream["audienceCount"], stream["peakAudience"], stream["cumulativeAudience"]) == (1, 2, 2)


# ---------------------------------------------------------------- token renewal


def test_renewal_keeps_the_uid_and_role(api, live):
    joined = join(api, CO_HOST, "broadcaster", live).data["agora"]
    time.sleep(1.1)  # a later second, so the renewed expiry differs
    renewed = api.post(f"/api/v1/live-stream/{live['id']}/token", user=CO_HOST)
    assert renewed.status == 200 and renewed.function == "RenewTokenFunction"
    agora = renewed.data["agora"]
    assert agora["uid"] == joined["uid"] and agora["role"] == "broadcaster"
    assert agora["token"] != joined["token"] and agora["expiresAt"] > joined["expiresAt"]
    assert_signed(decode_agora(agora["token"]), live["channelName"], str(joined["uid"]))
    viewer_uid = join(api, VIEWER, "audience", live).data["agora"]["uid"]
    viewer = api.post(f"/api/v1/live-stream/{live['id']}/token", user=VIEWER).data["agora"]
    assert viewer["uid"] == viewer_uid and viewer["role"] == "audience" and set(decode_agora(viewer["token"])["privileges"]) == {1}


def test_renewal_needs_a_uid_and_a_live_stream(api, live):
    assert api.post(f"/api/v1/live-stream/{live['id']}/token", user=VIEWER).status == 403
    assert api.post(f"/api/v1/live-stream/{live['id']}/token", user=HOST).status == 403  # host who never joined
    join(api, VIEWER, "audience", live)
    api.post(f"/api/v1/live-stream/{live['id']}/end", user=HOST)
    assert api.post(f"/api/v1/live-stream/{live['id']}/token", user=VIEWER).status == 409
