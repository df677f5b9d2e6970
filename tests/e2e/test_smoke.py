"""The end-to-end flows a deployment must pass, over HTTP, as two users and a server: create (with a
thumbnail, and without one: the default image), join all three ways, viewers, token renewal, upcoming
v1/v2, reminders on and off, live events, docs.

`make test` runs them against the local stack; `make smoke API_URL=https://...` against a deployed stage,
as the operator's two test users (their profiles are written here: use dedicated test accounts).
Every stream they create is ended at the end of its test.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests

from livestream.media import sniff_image
from tests.support import PNG
from tools.deploy_assets import DEFAULT_THUMBNAIL

pytestmark = [pytest.mark.e2e, pytest.mark.smoke]
TIMEOUT = 30


def at(minutes: float) -> str:
    value = datetime.now(timezone.utc) + timedelta(minutes=minutes)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def eventually(check: Callable[[], Any], seconds: float = 10) -> Any:
    """Counts and indexes settle within seconds (API: within 5 s); poll a bounded number of times."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


@pytest.fixture(scope="module")
def users(target) -> Any:
    for role, user in (("creator", target.creator), ("viewer", target.viewer)):
        body = {"username": f"smoke_{role}", "name": "Smoke", "surname": role.title()}
        reply = requests.put(target.url(f"/internal/v1/users/{user.id}"), json=body, headers=target.api_token, timeout=TIMEOUT)
        assert reply.status_code == 200, reply.text
        assert reply.json()["data"]["_id"] == user.id
    return target


@pytest.fixture
def streams(users) -> Iterator[list[str]]:
    """Ids of the streams a test creates: ended (or cancelled) afterwards, whatever the test did."""
    created: list[str] = []
    yield created
    for stream_id in created:
        requests.post(users.url(f"/api/v1/live-stream/{stream_id}/end"), headers=users.creator.auth, timeout=TIMEOUT)


def create(target, streams: list[str], **kwargs: Any) -> dict[str, Any]:
    reply = requests.post(target.url("/api/v1/live-stream/create"), headers=target.creator.auth, timeout=TIMEOUT, **kwargs)
    assert reply.status_code == 201, reply.text
    stream = reply.json()["data"]
    streams.append(stream["id"])
    return stream


def join(target, user, how: str, stream_id: str) -> dict[str, Any]:
    reply = requests.post(target.url(f"/api/v1/live-stream/join-as-{how}"), json={"liveStreamId": stream_id}, headers=user.auth, timeout=TIMEOUT)
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]


def test_create_with_and_without_thumbnail_and_join_all_three_ways(users, streams):
    target = users
    files = {"thumbnail": ("cover.png", PNG, "image/png")}
    form = {"title": "Smoke: guest show", "liveStreamType": "multi", "guests": f'["{target.viewer.id}"]'}
    show = create(target, streams, data=form, files=files)
    assert show["status"] == "active" and show["guests"][0]["_id"] == target.viewer.id
    image = requests.get(show["thumbnailUrl"], timeout=TIMEOUT)  # public: CloudFront when deployed
    assert image.status_code == 200 and image.headers["Content-Type"].startswith("image/") and sniff_image(image.content)
    seen = requests.get(target.url(f"/api/v1/live-stream/{show['id']}"), headers=target.viewer.auth, timeout=TIMEOUT)
    assert seen.status_code == 200 and seen.json()["data"]["role"] == "guest"

    host = join(target, target.creator, "broadcaster", show["id"])
    guest = join(target, target.viewer, "guest", show["id"])
    assert (host["agora"]["role"], guest["agora"]["role"]) == ("host", "guest")
    assert host["agora"]["channelName"] == guest["rtm"]["channelName"] == show["channelName"]
    assert host["agora"]["uid"] != guest["agora"]["uid"] and guest["rtm"]["userId"] == target.viewer.id

    plain = create(target, streams, json={"title": "Smoke: audience show"})
    default = requests.get(plain["thumbnailUrl"], timeout=TIMEOUT)  # the image `make deploy` uploads
    assert default.status_code == 200 and default.content == DEFAULT_THUMBNAIL.read_bytes(), plain["thumbnailUrl"]
    watcher = join(target, target.viewer, "audience", plain["id"])
    assert watcher["agora"]["role"] == "audience" and watcher["liveStream"]["id"] == plain["id"]
    renewed = requests.post(target.url(f"/api/v1/live-stream/{plain['id']}/token"), headers=target.viewer.auth, timeout=TIMEOUT)
    assert renewed.status_code == 200 and renewed.json()["data"]["agora"]["uid"] == watcher["agora"]["uid"]

    def viewers() -> dict[str, Any] | None:
        page = requests.get(target.url(f"/api/v1/live-stream/{plain['id']}/viewers"), headers=target.creator.auth, timeout=TIMEOUT)
        assert page.status_code == 200, page.text
        data = page.json()["data"]
        return data if [v["_id"] for v in data["list"]] == [target.viewer.id] else None

    listed = eventually(viewers)
    assert listed and listed["participantAudienceTotal"] == 1 and listed["pagination"]["totalItems"] == 1
    left = requests.post(target.url(f"/api/v1/live-stream/{plain['id']}/leave"), headers=target.viewer.auth, timeout=TIMEOUT)
    assert left.status_code == 200

    for stream_id in (show["id"], plain["id"]):
        ended = requests.post(target.url(f"/api/v1/live-stream/{stream_id}/end"), headers=target.creator.auth, timeout=TIMEOUT)
        assert ended.status_code == 200 and ended.json()["data"]["status"] == "ended"
    late = requests.post(
        target.url("/api/v1/live-stream/join-as-audience"), json={"liveStreamId": plain["id"]}, headers=target.viewer.auth, timeout=TIMEOUT
    )
    assert late.status_code == 409


def test_upcoming_and_reminders_on_and_off(users, streams):
    target = users
    later = create(target, streams, json={"title": "Smoke: later", "plannedStartDate": at(45)})
    assert later["status"] == "scheduled"
    reminder = target.url(f"/api/v1/live-stream/{later['id']}/reminder")
    upcoming = {v: target.url(f"/api/{v}/live-stream/user/{target.creator.id}/upcoming-live-streams") for v in ("v1", "v2")}

    def reminder_shown() -> bool | None:
        reply = requests.get(upcoming["v2"], params={"limit": 100}, headers=target.viewer.auth, timeout=TIMEOUT)
        assert reply.status_code == 200, reply.text
        found = [s for s in reply.json()["data"] if s["id"] == later["id"]]
        return found[0]["isReminderActive"] if found else None

    assert requests.post(reminder, headers=target.viewer.auth, timeout=TIMEOUT).status_code == 200
    assert requests.post(reminder, headers=target.viewer.auth, timeout=TIMEOUT).status_code == 200  # on twice: still on
    assert eventually(lambda: reminder_shown() is True)
    v1 = requests.get(upcoming["v1"], params={"limit": 100}, timeout=TIMEOUT).json()["data"]
    (listed,) = [s for s in v1 if s["id"] == later["id"]]
    assert "isReminderActive" not in listed and listed["title"] == "Smoke: later"

    assert requests.delete(reminder, headers=target.viewer.auth, timeout=TIMEOUT).status_code == 200
    assert eventually(lambda: reminder_shown() is False)

    cancelled = requests.post(target.url(f"/api/v1/live-stream/{later['id']}/end"), headers=target.creator.auth, timeout=TIMEOUT)
    assert cancelled.status_code == 200 and cancelled.json()["data"]["status"] == "cancelled"
    assert requests.post(reminder, headers=target.viewer.auth, timeout=TIMEOUT).status_code == 409


def test_live_events_follow_a_stream(users, streams):
    target = users
    stream = create(target, streams, json={"title": "Smoke: live event"})

    def state() -> str | None:
        reply = requests.get(target.url("/v1/live-events"), params={"live_event_id": stream["id"]}, headers=target.api_token, timeout=TIMEOUT)
        assert reply.status_code == 200, reply.text
        events = reply.json()["live_events"]
        return events[0]["state"] if events else None

    assert eventually(lambda: state() == "ongoing")
    requests.post(target.url(f"/api/v1/live-stream/{stream['id']}/end"), headers=target.creator.auth, timeout=TIMEOUT)
    assert eventually(lambda: state() == "ended")
    unauthorised = requests.get(target.url("/v1/live-events"), timeout=TIMEOUT)
    assert unauthorised.status_code == 401 and unauthorised.json()["code"] == 401121


def test_docs(target):
    document = requests.get(target.url("/openapi.json"), timeout=TIMEOUT)
    assert document.status_code == 200 and document.json()["openapi"].startswith("3.")
    assert "/api/v1/live-stream/create" in document.json()["paths"]
    page = requests.get(target.url("/docs"), timeout=TIMEOUT)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html") and "swagger-ui" in page.text
