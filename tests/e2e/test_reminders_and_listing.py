"""Upcoming streams, reminders and the dispatcher, and the live-events listing, over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
import requests

from local.cfn import ROOT, Template
from local.emulation import physical_names
from tests.support import drain_queue

pytestmark = pytest.mark.e2e


def uid() -> str:
    return os.urandom(12).hex()


def at(minutes: float) -> str:
    value = datetime.now(timezone.utc) + timedelta(minutes=minutes)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def drain(stack) -> list[dict]:
    return drain_queue(stack.aws("sqs"), physical_names(Template.load(), stack.aws_endpoint)["ReminderQueue"])


def test_upcoming_reminders_and_dispatch(stack):
    host, fan = uid(), uid()
    stack.add_user(host)
    stack.add_user(fan)
    soon = requests.post(
        stack.url("/api/v1/live-stream/create"), json={"title": "Soon", "plannedStartDate": at(5)}, headers=stack.auth(host), timeout=30
    )
    live = requests.post(stack.url("/api/v1/live-stream/create"), json={"title": "Live"}, headers=stack.auth(host), timeout=30)
    soon_id, live_id = soon.json()["data"]["id"], live.json()["data"]["id"]
    assert requests.post(stack.url(f"/api/v1/live-stream/{soon_id}/reminder"), headers=stack.auth(fan), timeout=30).status_code == 200
    assert requests.post(stack.url(f"/api/v1/live-stream/{live_id}/reminder"), headers=stack.auth(fan), timeout=30).status_code == 409

    v2 = requests.get(stack.url(f"/api/v2/live-stream/user/{host}/upcoming-live-streams"), headers=stack.auth(fan), timeout=30).json()["data"]
    assert [(s["title"], s["isReminderActive"]) for s in v2] == [("Live", False), ("Soon", True)]
    v1 = requests.get(stack.url(f"/api/v1/live-stream/user/{host}/upcoming-live-streams"), timeout=30).json()["data"]
    assert [s["title"] for s in v1] == ["Live", "Soon"] and "isReminderActive" not in v1[0]

    drain(stack)
    env = {**os.environ, "LOCAL_AWS_PORT": stack.aws_endpoint.rsplit(":", 1)[1]}
    run = subprocess.run(
        [sys.executable, "-m", "local.invoke", "ReminderDispatchFunction", "events/reminder_dispatch.json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1])["sent"] >= 1
    messages = [m for m in drain(stack) if m["liveStreamId"] == soon_id]
    assert [(m["type"], m["userId"], m["title"]) for m in messages] == [("live_stream.reminder", fan, "Soon")]


def test_live_events_pages_over_http(stack):
    creator = uid()
    stack.add_user(creator)
    ids = [
        requests.post(stack.url("/api/v1/live-stream/create"), json={"title": f"Page {n}"}, headers=stack.auth(creator), timeout=30).json()["data"][
            "id"
        ]
        for n in range(7)
    ]
    query = {"created_by_user_id": creator, "limit": 3}
    pages, reply = [], requests.get(stack.url("/v1/live-events"), params=query, headers=stack.api_token, timeout=30).json()
    while True:
        pages.append([e["live_event_id"] for e in reply["live_events"]])
        if not reply["next"]:
            break
        reply = requests.get(stack.url("/v1/live-events"), params={**query, "next": reply["next"]}, headers=stack.api_token, timeout=30).json()
    assert pages == [ids[::-1][0:3], ids[::-1][3:6], ids[::-1][6:7]]
    back = requests.get(stack.url("/v1/live-events"), params={**query, "prev": reply["prev"]}, headers=stack.api_token, timeout=30).json()
    assert [e["live_event_id"] for e in back["live_events"]] == pages[1]
    bad = requests.get(stack.url("/v1/live-events"), params={"limit": 500}, headers=stack.api_token, timeout=30)
    assert bad.status_code == 400 and bad.json()["code"] == 400100
    assert requests.get(stack.url("/v1/live-events"), timeout=30).json()["code"] == 401121


def test_overlapping_dispatch_runs_send_each_reminder_once(stack):
    host = uid()
    stack.add_user(host)
    fans = [uid() for _ in range(25)]
    stream_ids = []
    for n in range(3):
        created = requests.post(
            stack.url("/api/v1/live-stream/create"),
            json={"title": f"Overlap {n}", "plannedStartDate": at(4 + n)},
            headers=stack.auth(host),
            timeout=30,
        )
        stream_ids.append(created.json()["data"]["id"])
        for fan in fans:
            assert requests.post(stack.url(f"/api/v1/live-stream/{stream_ids[-1]}/reminder"), headers=stack.auth(fan), timeout=30).status_code == 200
    drain(stack)
    env = {**os.environ, "LOCAL_AWS_PORT": stack.aws_endpoint.rsplit(":", 1)[1]}
    command = [sys.executable, "-m", "local.invoke", "ReminderDispatchFunction", "events/reminder_dispatch.json"]
    runs = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [json.loads(run.communicate(timeout=180)[0].strip().splitlines()[-1]) for run in runs]
    pairs = [(m["liveStreamId"], m["userId"]) for m in drain(stack) if m["liveStreamId"] in stream_ids]
    assert len(pairs) == len(set(pairs)) == 75
    assert sum(r["sent"] for r in results) >= 75
