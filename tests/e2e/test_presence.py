"""Presence over HTTP against the local stack: a signed Agora channel event (the development secret)
removes a viewer within seconds; a bad signature changes nothing; the sweep runs as `make invoke` runs it."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from local.emulation import dev_setting

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def post_event(stack, body: dict, secret: str) -> requests.Response:
    raw = json.dumps(body).encode()
    signature = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "Agora-Signature-V2": signature}
    return requests.post(stack.url("/webhooks/agora"), data=raw, headers=headers, timeout=30)


def test_a_signed_leave_event_removes_the_viewer_within_seconds(stack):
    host, viewer = os.urandom(12).hex(), os.urandom(12).hex()
    stack.add_user(host)
    stack.add_user(viewer)
    stream = requests.post(stack.url("/api/v1/live-stream/create"), json={"title": "Presence"}, headers=stack.auth(host), timeout=30).json()["data"]
    joined = requests.post(
        stack.url("/api/v1/live-stream/join-as-audience"), json={"liveStreamId": stream["id"]}, headers=stack.auth(viewer), timeout=30
    ).json()["data"]
    event = {
        "noticeId": f"{os.urandom(4).hex()}:4330:107",
        "productId": 1,
        "eventType": 106,
        "notifyMs": int(time.time() * 1000),
        "sid": "C866467GVJJ54687",
        "payload": {
            "channelName": stream["channelName"],
            "uid": joined["agora"]["uid"],
            "platform": 1,
            "clientSeq": 1625051035390,
            "reason": 2,
            "ts": int(time.time()) + 1,
            "duration": 600,
            "account": str(joined["agora"]["uid"]),
        },
    }
    assert post_event(stack, event, "not-the-secret").status_code == 401
    viewers = stack.url(f"/api/v1/live-stream/{stream['id']}/viewers")
    assert requests.get(viewers, headers=stack.auth(host), timeout=30).json()["data"]["participantAudienceTotal"] == 1
    started = time.monotonic()
    reply = post_event(stack, event, dev_setting("AGORA_NOTIFICATION_SECRET"))
    assert reply.status_code == 200 and reply.json()["data"]["outcome"] == "applied", reply.text
    page = requests.get(viewers, headers=stack.auth(host), timeout=30).json()["data"]
    assert page["participantAudienceTotal"] == 0 and page["list"] == []
    assert time.monotonic() - started < 5


def test_the_sample_events_run_against_the_local_stack(stack):
    env = {**os.environ, "LOCAL_AWS_PORT": stack.aws_endpoint.rsplit(":", 1)[1]}
    for function, sample in (("AgoraWebhookFunction", "events/agora_webhook.json"), ("PresenceSweepFunction", "events/presence_sweep.json")):
        done = subprocess.run(
            [sys.executable, "-m", "local.invoke", function, sample], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert '"statusCode": 200' in done.stdout or '"removed"' in done.stdout, done.stdout[-2000:]
