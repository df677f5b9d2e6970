"""Presence from Agora's channel events (POST /webhooks/agora, signed like Agora's Notifications
service) and the sweep of viewers whose deadline passed, with an injected clock."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
from datetime import datetime, timedelta, timezone

import pytest

from livestream import presence, presence_sweep, store
from local.routing import proxy_event
from tests.support import AGORA_NCS_SECRET, invoke, queries_in_flight_together, route_for, user_id

HOST, GUEST, VIEWER, OTHER = (user_id(n) for n in (11, 12, 13, 14))
WEBHOOK = "/webhooks/agora"
_notices = itertools.count(4330)


def signed(body: bytes, secret: str = AGORA_NCS_SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def notification(event_type: int, channel: str, uid: int | None = None, seq: int | None = None, *, ts: int | None = None, **extra) -> dict:
    """A notification shaped as Agora's documentation shows it (request body and payload fields)."""
    payload = {"channelName": channel, "ts": ts if ts is not None else int(time.time()) + 1}
    if event_type in (103, 104, 105, 106):
        payload.update(uid=uid, platform=1, clientSeq=seq, account=str(uid))
        if event_type in (104, 106):
            payload.update(reason=1, duration=600)
    elif event_type in (111, 112):
        payload.update(uid=uid, clientSeq=seq)
    elif event_type == 102:
        payload["lastUid"] = uid or 12121212
    payload.update(extra)
    return {
        "noticeId": f"2000001428:{next(_notices)}:107",
        "productId": 1,
        "eventType": event_type,
        "notifyMs": int(time.time() * 1000),
        "sid": "C866467GVJJ54687",
        "payload": payload,
    }


def deliver(api, body, *, signature: str | None = "sign", headers: dict | None = None):
    raw = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if signature == "sign":
        all_headers["Agora-Signature-V2"] = signed(raw)
        all_headers["Agora-Signature"] = hmac.new(AGORA_NCS_SECRET.encode(), raw, hashlib.sha1).hexdigest()
    elif signature is not None:
        all_headers["Agora-Signature-V2"] = signature
    return api.post(WEBHOOK, body=raw, headers=all_headers)


@pytest.fixture
def live(api):
    for who in (HOST, GUEST, VIEWER, OTHER):
        api.add_user(who, name=f"Name{who[-2:]}")
    return api.create(HOST, guests=[GUEST]).data


def join_audience(api, stream, who=VIEWER) -> int:
    reply = api.post("/api/v1/live-stream/join-as-audience", json_body={"liveStreamId": stream["id"]}, user=who)
    assert reply.status == 200, reply.json
    return reply.data["agora"]["uid"]


def counts(api, stream) -> tuple[int, int, int]:
    api.settle()  # the aggregator has counted every change so far
    item = store.get(store.stream_key(stream["id"]))
    return int(item.get("audienceCount", 0)), int(item.get("peakAudience", 0)), int(item.get("cumulativeAudience", 0))


def viewer_ids(api, stream) -> list[str]:
    api.settle()
    reply = api.get(f"/api/v1/live-stream/{stream['id']}/viewers", user=HOST)
    assert reply.status == 200, reply.json
    assert reply.data["participantAudienceTotal"] == reply.data["pagination"]["totalItems"]
    return [v["_id"] for v in reply.data["list"]]


# ---------------------------------------------------------------- signature


def test_the_documented_signature_example_verifies():
    # Agora's signature verification page: this body and secret give this HMAC/SHA256
    body = (
        b'{"eventMs":1560408533119,"eventType":10,"noticeId":"4eb720f0-8da7-11e9-a43e-53f411c2761f",'
        b'"notifyMs":1560408533119,"payload":{"a":"1","b":2},"productId":1}'
    )
    assert presence.sign(body, "secret") == "6d3320c60b11101395b7fc8f9068748808a0aa1bfa064438e39d1bc2c7d74d99"


@pytest.mark.parametrize(
    "signature",
    [None, "", "0" * 64, signed(b"another body"), signed(b"x", "wrong-secret"), "zz" * 32, "é" * 10],
)
def test_a_missing_or_wrong_signature_is_401_and_changes_nothing(api, live, signature):
    uid = join_audience(api, live)
    reply = deliver(api, notification(106, live["channelName"], uid, 5), signature=signature)
    assert reply.status == 401 and reply.errors[0] == "Authentication required"
    assert reply.errors[1].startswith("Agora-Signature-V2:")
    assert viewer_ids(api, live) == [VIEWER] and counts(api, live) == (1, 1, 1)


def test_the_signature_covers_the_raw_bytes(api, live):
    uid = join_audience(api, live)
    body = notification(106, live["channelName"], uid, 5)
    raw = json.dumps(body, indent=2).encode()  # same JSON, other bytes
    reply = api.post(WEBHOOK, body=raw, headers={"Content-Type": "application/json", "Agora-Signature-V2": signed(json.dumps(body).encode())})
    assert reply.status == 401
    reply = api.post(WEBHOOK, body=raw, headers={"Content-Type": "application/json", "Agora-Signature-V2": signed(raw).upper()})
    assert reply.status == 200 and reply.data["outcome"] == "applied"


def test_a_base64_encoded_body_is_verified_on_its_decoded_bytes(api, live):
    uid = join_audience(api, live)
    raw = json.dumps(notification(106, live["channelName"], uid, 5)).encode()
    headers = [("Content-Type", "application/json"), ("Agora-Signature-V2", signed(raw))]
    match = route_for("POST", WEBHOOK)
    event = proxy_event(match, "POST", WEBHOOK, "", headers, raw, ["application/json"], stage="test")
    assert event["isBase64Encoded"] is True and event["body"] == base64.b64encode(raw).decode()
    result = invoke("AgoraWebhookFunction", event)  # its own environment and policy
    assert result["statusCode"] == 200, result
    assert viewer_ids(api, live) == [] and counts(api, live) == (0, 1, 1)


# ---------------------------------------------------------------- bodies


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"not json at all", "body: must be valid JSON"),
        (b"", "body"),
        (b"[1, 2]", "body"),
        (
            json.dumps(
                {"noticeId": "n", "productId": 1, "eventType": 106, "notifyMs": 1, "payload": {"channelName": "c", "uid": 7, "ts": 1}}
            ).encode(),
            "payload.clientSeq: field required",
        ),
        (
            json.dumps(
                {
                    "noticeId": "n",
                    "productId": 1,
                    "eventType": 105,
                    "notifyMs": 1,
                    "payload": {"channelName": "c", "uid": "7", "clientSeq": 1, "ts": 1},
                }
            ).encode(),
            "payload.uid",
        ),
        (json.dumps({"productId": 1, "eventType": 105, "notifyMs": 1, "payload": {}}).encode(), "noticeId"),
        # text fields are checked text, as everywhere: no lone surrogates, no control characters
        (b'{"noticeId": "\\ud800", "productId": 1, "eventType": 105, "notifyMs": 1, "payload": {}}', "noticeId: must be valid Unicode text"),
        (
            json.dumps({"noticeId": "n", "productId": 1, "eventType": 102, "notifyMs": 1, "payload": {"channelName": "c\x00", "ts": 1}}).encode(),
            "payload.channelName: must not contain control characters",
        ),
        (json.dumps({"noticeId": "n\x1b", "productId": 1, "eventType": 999, "notifyMs": 1, "payload": {}}).encode(), "noticeId: must not contain"),
        (json.dumps({"noticeId": "n", "productId": 1, "eventType": 999, "notifyMs": 1, "sid": "s\x85", "payload": {}}).encode(), "sid: must not"),
        (json.dumps({"noticeId": "", "productId": 1, "eventType": 999, "notifyMs": 1, "payload": {}}).encode(), "noticeId: must not be empty"),
    ],
)
def test_garbage_with_a_valid_signature_is_400_naming_the_field(api, live, body, detail):
    join_audience(api, live)
    reply = deliver(api, body)
    assert reply.status == 400 and reply.errors[0] == "Validation failed", reply.json
    assert any(e.startswith(detail) for e in reply.errors[1:]), reply.errors
    assert counts(api, live) == (1, 1, 1)


def test_unknown_channels_uids_and_event_types_are_acknowledged_and_ignored(api, live):
    uid = join_audience(api, live)
    # Agora's console health check: channel test_webhook, uid 12121212
    health = notification(103, "test_webhook", 12121212, 1625051030746, ts=1560396843)
    for body in (
        health,
        notification(106, live["channelName"], uid + 1 if uid < 2**32 - 1 else 1, 9),
        notification(101, live["channelName"]),
        notification(107, live["channelName"], uid, 9),
        {**notification(106, live["channelName"], uid, 9), "eventType": 999},
    ):
        reply = deliver(api, body)
        assert reply.status == 200 and reply.json["isSuccess"] is True
        assert reply.data["outcome"] == "ignored", reply.data
    assert viewer_ids(api, live) == [VIEWER] and counts(api, live) == (1, 1, 1)


# ---------------------------------------------------------------- applying events


def test_an_audience_leave_event_removes_the_viewer_as_leave_would(api, live):
    uid = join_audience(api, live)
    join_audience(api, live, OTHER)
    assert sorted(viewer_ids(api, live)) == sorted([VIEWER, OTHER]) and counts(api, live) == (2, 2, 2)
    reply = deliver(api, notification(106, live["channelName"], uid, 1625051035390))
    assert reply.status == 200 and reply.data["outcome"] == "applied" and reply.data["userId"] == VIEWER
    assert viewer_ids(api, live) == [OTHER] and counts(api, live) == (1, 2, 2)
    part = store.get(store.part_key(live["id"], VIEWER))
    assert part["watching"] is False and "expPk" not in part and part["lastClientSeq"] == 1625051035390
    # the viewer's own leave afterwards is the no-op it is for anyone not watching
    assert api.post(f"/api/v1/live-stream/{live['id']}/leave", user=VIEWER).data["left"] is False


def test_duplicates_have_one_effect(api, live):
    uid = join_audience(api, live)
    leave = notification(106, live["channelName"], uid, 20)
    assert deliver(api, leave).data["outcome"] == "applied"
    assert deliver(api, leave).data["outcome"] == "duplicate"  # Agora's retry: same noticeId, same clientSeq
    resent = {**leave, "notifyMs": leave["notifyMs"] + 5000}  # a resend carries a new notifyMs
    assert deliver(api, resent).data["outcome"] == "duplicate"
    # the same noticeId applies once even if its payload were to differ
    rejoin = {**notification(105, live["channelName"], uid, 30), "noticeId": leave["noticeId"]}
    assert deliver(api, rejoin).data["outcome"] == "duplicate"
    assert counts(api, live) == (0, 1, 1) and viewer_ids(api, live) == []


def test_a_late_join_never_undoes_a_newer_leave(api, live):
    uid = join_audience(api, live)
    now = int(time.time()) + 1
    join_event, leave_event = notification(105, live["channelName"], uid, 10, ts=now), notification(106, live["channelName"], uid, 11, ts=now + 1)
    assert deliver(api, leave_event).data["outcome"] == "applied"
    assert deliver(api, join_event).data["outcome"] == "stale"
    assert viewer_ids(api, live) == [] and counts(api, live) == (0, 1, 1)
    # a newer join brings them back, counted again but not as a new distinct viewer
    assert deliver(api, notification(105, live["channelName"], uid, 12, ts=now + 2)).data["outcome"] == "applied"
    assert viewer_ids(api, live) == [VIEWER] and counts(api, live) == (1, 1, 1)


def test_an_event_older_than_the_last_join_through_the_api_is_stale(api, live):
    uid = join_audience(api, live)
    old_session_leave = notification(106, live["channelName"], uid, 3, ts=int(time.time()) - 30)
    assert deliver(api, old_session_leave).data["outcome"] == "stale"
    assert viewer_ids(api, live) == [VIEWER]


def test_a_join_event_confirms_a_viewer_and_pushes_the_deadline(api, live, monkeypatch):
    uid = join_audience(api, live)
    before = store.get(store.part_key(live["id"], VIEWER))["presenceDeadline"]
    later = datetime.now(timezone.utc) + timedelta(minutes=30)
    monkeypatch.setattr("livestream.clock.now", lambda: later)
    reply = deliver(api, notification(105, live["channelName"], uid, 7, ts=int(later.timestamp())))
    assert reply.data["outcome"] == "applied"
    after = store.get(store.part_key(live["id"], VIEWER))["presenceDeadline"]
    assert after > before and counts(api, live) == (1, 1, 1)


def test_role_changes_move_a_guest_off_and_on_stage_without_counting_them(api, live):
    """A guest switching to the audience role stops streaming, but a guest is never audience: not listed
    as a viewer, not counted."""
    guest_uid = api.post("/api/v1/live-stream/join-as-guest", json_body={"liveStreamId": live["id"]}, user=GUEST).data["agora"]["uid"]
    ts = int(time.time()) + 1
    reply = deliver(api, notification(112, live["channelName"], guest_uid, 1, ts=ts))  # to audience
    assert reply.data["outcome"] == "applied"
    part = store.get(store.part_key(live["id"], GUEST))
    assert not part.get("watching") and part["streaming"] is False
    assert viewer_ids(api, live) == [] and counts(api, live) == (0, 0, 0)
    assert deliver(api, notification(105, live["channelName"], guest_uid, 2, ts=ts)).data["outcome"] == "applied"  # audience join
    assert viewer_ids(api, live) == [] and counts(api, live) == (0, 0, 0)
    assert deliver(api, notification(111, live["channelName"], guest_uid, 3, ts=ts)).data["outcome"] == "applied"  # back on stage
    part = store.get(store.part_key(live["id"], GUEST))
    assert not part.get("watching") and part["streaming"] is True
    assert viewer_ids(api, live) == [] and counts(api, live) == (0, 0, 0)
    assert deliver(api, notification(104, live["channelName"], guest_uid, 4, ts=ts)).data["outcome"] == "applied"
    assert store.get(store.part_key(live["id"], GUEST))["streaming"] is False


def test_a_viewer_switching_to_broadcaster_is_not_a_publisher_but_is_no_longer_audience(api, live):
    uid = join_audience(api, live)
    assert deliver(api, notification(111, live["channelName"], uid, 1)).data["outcome"] == "applied"
    part = store.get(store.part_key(live["id"], VIEWER))
    assert part["watching"] is False and not part.get("streaming")
    assert counts(api, live) == (0, 1, 1)


def test_channel_destroyed_removes_everyone_but_those_who_came_back_after(api, live, monkeypatch):
    # the semantics, not the time budget (a loaded machine may spend more than the budget on moto)
    monkeypatch.setattr(presence, "DESTROY_BUDGET_MS", 60_000)
    join_audience(api, live)
    api.post("/api/v1/live-stream/join-as-broadcaster", json_body={"liveStreamId": live["id"]}, user=HOST)
    other_uid = join_audience(api, live, OTHER)
    destroyed_at = int(time.time()) + 5
    # OTHER rejoined the channel after the destroy (its notification was late)
    assert deliver(api, notification(105, live["channelName"], other_uid, 50, ts=destroyed_at + 3)).data["outcome"] == "applied"
    destroy = notification(102, live["channelName"], ts=destroyed_at)
    reply = deliver(api, destroy)
    assert reply.status == 200 and reply.data["outcome"] == "applied" and reply.data["left"] == 2
    assert viewer_ids(api, live) == [OTHER] and counts(api, live) == (1, 2, 2)
    assert store.get(store.part_key(live["id"], HOST))["streaming"] is False
    assert deliver(api, destroy).data["outcome"] == "duplicate"
    assert counts(api, live) == (1, 2, 2)


def test_events_on_an_ended_stream_do_not_make_viewers(api, live):
    uid = join_audience(api, live)
    assert deliver(api, notification(106, live["channelName"], uid, 1)).data["outcome"] == "applied"
    assert api.post(f"/api/v1/live-stream/{live['id']}/end", user=HOST).status == 200
    assert deliver(api, notification(105, live["channelName"], uid, 2)).data["outcome"] == "applied"
    assert store.get(store.part_key(live["id"], VIEWER))["watching"] is False
    assert counts(api, live) == (0, 1, 1)


# ---------------------------------------------------------------- the sweep (injected clock)


def test_a_viewer_past_the_deadline_is_dropped_as_a_leave_would(api, live):
    t0 = datetime.now(timezone.utc)
    join_audience(api, live)
    join_audience(api, live, OTHER)
    deadline = t0 + timedelta(seconds=3600 + 300)
    assert presence_sweep.sweep(at=deadline - timedelta(seconds=60))["removed"] == 0
    assert sorted(viewer_ids(api, live)) == sorted([VIEWER, OTHER])
    result = presence_sweep.sweep(at=deadline + timedelta(seconds=60))
    assert result["removed"] == 2 and result["expired"] == 2
    assert viewer_ids(api, live) == [] and counts(api, live) == (0, 2, 2)
    assert presence_sweep.sweep(at=deadline + timedelta(seconds=120))["expired"] == 0  # gone from the index


def test_renewing_tokens_pushes_the_deadline(api, live, monkeypatch):
    t0 = datetime.now(timezone.utc)
    join_audience(api, live)
    join_audience(api, live, OTHER)
    renewed_at = t0 + timedelta(minutes=50)
    monkeypatch.setattr("livestream.clock.now", lambda: renewed_at)
    assert api.post(f"/api/v1/live-stream/{live['id']}/token", user=VIEWER).status == 200
    monkeypatch.undo()
    first_deadline = t0 + timedelta(seconds=3900)
    assert presence_sweep.sweep(at=first_deadline + timedelta(minutes=2))["removed"] == 1  # OTHER only
    assert viewer_ids(api, live) == [VIEWER]
    assert presence_sweep.sweep(at=renewed_at + timedelta(seconds=3900 + 120))["removed"] == 1
    assert viewer_ids(api, live) == [] and counts(api, live) == (0, 2, 2)


def test_joining_again_pushes_the_deadline_and_a_left_viewer_is_not_swept(api, live, monkeypatch):
    t0 = datetime.now(timezone.utc)
    join_audience(api, live)
    join_audience(api, live, OTHER)
    api.post(f"/api/v1/live-stream/{live['id']}/leave", user=OTHER)
    monkeypatch.setattr("livestream.clock.now", lambda: t0 + timedelta(minutes=40))
    join_audience(api, live)  # a repeat join
    monkeypatch.undo()
    result = presence_sweep.sweep(at=t0 + timedelta(seconds=3900 + 120))
    assert result == {**result, "removed": 0, "expired": 0}
    assert viewer_ids(api, live) == [VIEWER] and counts(api, live) == (1, 2, 2)


def test_the_sweep_reads_only_expired_entries(api, live, monkeypatch):
    t0 = datetime.now(timezone.utc)
    join_audience(api, live)
    calls = []
    client = store.client()

    def record(params, **kwargs):
        calls.append(params)

    client.meta.events.register("provide-client-params.dynamodb.*", record)
    try:
        presence_sweep.sweep(at=t0 + timedelta(minutes=10))
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.*", record)
    assert not any("Scan" in str(c) for c in calls)
    queries = [c for c in calls if c.get("IndexName") == "ExpiryIndex"]
    assert queries and all(c["KeyConditionExpression"] == "expPk = :pk AND expSk < :bound" for c in queries)
    assert viewer_ids(api, live) == [VIEWER]


def test_the_scheduled_function_runs_the_sweep(api, live):
    join_audience(api, live)
    result = invoke("PresenceSweepFunction", {"source": "aws.events"})
    assert result["removed"] == 0 and viewer_ids(api, live) == [VIEWER]


def test_a_join_through_the_api_starts_a_new_client_session(api, live, monkeypatch):
    uid = join_audience(api, live)
    now = int(time.time()) + 1
    assert deliver(api, notification(106, live["channelName"], uid, 9_000, ts=now)).data["outcome"] == "applied"
    later = datetime.now(timezone.utc) + timedelta(seconds=10)
    monkeypatch.setattr("livestream.clock.now", lambda: later)
    join_audience(api, live)  # the same user, on another device whose clientSeq counts from lower
    assert deliver(api, notification(106, live["channelName"], uid, 9_000, ts=now)).data["outcome"] == "stale"  # the old session
    assert viewer_ids(api, live) == [VIEWER]
    assert deliver(api, notification(106, live["channelName"], uid, 12, ts=int(later.timestamp()) + 5)).data["outcome"] == "applied"
    assert viewer_ids(api, live) == [] and counts(api, live) == (0, 1, 1)


def test_an_unreadable_secret_is_503_and_changes_nothing(api, live, monkeypatch):
    from botocore.exceptions import ClientError

    from livestream import secrets

    uid = join_audience(api, live)

    class Throttled:
        def get_secret_value(self, **kwargs):
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "GetSecretValue")

    secrets.clear_cache()
    monkeypatch.setattr(secrets, "_client", lambda: Throttled())
    reply = deliver(api, notification(106, live["channelName"], uid, 5))
    assert reply.status == 503 and reply.errors == ["Service unavailable"] and reply.headers["retry-after"] == "5"
    monkeypatch.undo()
    assert viewer_ids(api, live) == [VIEWER]


def test_a_minutes_shards_are_read_at_once_and_every_expired_viewer_goes(api, live):
    """The 8 ExpiryIndex shards of a minute are queried together (one round trip's wait, not eight),
    and the viewers read are removed several at once: each still exactly once, the counts exact."""
    t0 = datetime.now(timezone.utc)
    viewers = [user_id(n) for n in range(200, 212)]  # more viewers than removals run at once
    for viewer in viewers:
        join_audience(api, live, viewer)
    with queries_in_flight_together(store.EXPIRY_SHARDS, "ExpiryIndex") as sent:
        result = presence_sweep.sweep(at=t0 + timedelta(seconds=3900 + 120))
    queried = [params["ExpressionAttributeValues"][":pk"]["S"] for params in sent]
    assert len(queried) == len(set(queried)) and len(queried) % store.EXPIRY_SHARDS == 0
    assert result["removed"] == result["expired"] == len(viewers)
    assert viewer_ids(api, live) == [] and counts(api, live) == (0, len(viewers), len(viewers))
    assert presence_sweep.sweep(at=t0 + timedelta(seconds=3900 + 180))["expired"] == 0
