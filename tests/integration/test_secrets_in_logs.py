"""Secrets never reach the logs: the main flows run with every logger at DEBUG (the functions' own
Powertools logger as POWERTOOLS_LOG_LEVEL=DEBUG would set it, botocore, urllib3, Powertools' internals),
and the captured output holds none of the secrets (JWT secret, Api-Token, Agora certificate) nor any
token minted or received (JWTs, Agora RTC and RTM tokens)."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime, timedelta

import pytest

import tests.support as support
from livestream.clock import iso
from tests.support import AGORA, API_TOKEN, JWT_SECRET, PNG, invoke, multipart, user_id

HOST, GUEST, VIEWER = user_id(0xB1), user_id(0xB2), user_id(0xB3)


@pytest.fixture
def debug_logs(monkeypatch):
    """Every log line of the run, formatted as it would be written, at DEBUG everywhere."""
    from livestream.observability import logger

    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logger.registered_formatter)  # the functions' own JSON lines, extra keys included
    service = logging.getLogger(logger.name)
    root = logging.getLogger()
    previous = (service.level, root.level)
    service.addHandler(handler)
    service.setLevel(logging.DEBUG)
    plain = logging.StreamHandler(sink)
    plain.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root.addHandler(plain)
    root.setLevel(logging.DEBUG)
    for name in ("botocore", "boto3", "urllib3", "aws_lambda_powertools", "moto"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield sink
    service.removeHandler(handler)
    root.removeHandler(plain)
    service.setLevel(previous[0])
    root.setLevel(previous[1])
    for name in ("botocore", "boto3", "urllib3", "aws_lambda_powertools", "moto"):
        logging.getLogger(name).setLevel(logging.NOTSET)


@pytest.fixture
def minted(monkeypatch):
    """Every JWT the test client signs."""
    tokens: list[str] = []
    original = support.make_token

    def recording(*args, **kwargs):
        token = original(*args, **kwargs)
        tokens.append(token)
        return token

    monkeypatch.setattr(support, "make_token", recording)
    return tokens


def test_main_flows_at_debug_log_no_secret_and_no_token(api, debug_logs, minted, capsys):
    received: list[str] = []
    for uid in (HOST, GUEST, VIEWER):
        api.add_user(uid)
    # create: JSON, multipart with a thumbnail and an idempotency key, a scheduled one
    live = api.create(HOST, title="Live", guests=[GUEST], price=4.5)
    assert live.status == 201
    stream_id = live.data["id"]
    body, content_type = multipart({"title": "Form", "thumbnail": ("t.png", PNG, "image/png")})
    headers = {"Content-Type": content_type, "Idempotency-Key": "key-1"}
    assert api.post("/api/v1/live-stream/create", body=body, headers=headers, user=HOST).status == 201
    assert api.post("/api/v1/live-stream/create", body=body, headers=headers, user=HOST).status == 201
    soon = iso(datetime.now(UTC) + timedelta(hours=1))
    scheduled = api.create(HOST, title="Later", plannedStartDate=soon).data["id"]
    # joins, renewals, viewers, leave
    assert api.put(f"/internal/v1/live-stream/{stream_id}/access/{VIEWER}", api_token=API_TOKEN).status == 200
    for path, who in (("join-as-broadcaster", HOST), ("join-as-guest", GUEST), ("join-as-audience", VIEWER)):
        reply = api.post(f"/api/v1/live-stream/{path}", json_body={"liveStreamId": stream_id}, user=who)
        assert reply.status == 200, reply.json
        received += [reply.data["agora"]["token"], reply.data["rtm"]["token"]]
        renewed = api.post(f"/api/v1/live-stream/{stream_id}/token", user=who)
        assert renewed.status == 200
        received += [renewed.data["agora"]["token"], renewed.data["rtm"]["token"]]
    assert api.get(f"/api/v1/live-stream/{stream_id}/viewers", query={"search": "ada"}, user=HOST).status == 200
    assert api.post(f"/api/v1/live-stream/{stream_id}/leave", user=VIEWER).status == 200
    # reminders, upcoming, follow edges, live events, start and end
    assert api.post(f"/api/v1/live-stream/{scheduled}/reminder", user=VIEWER).status == 200
    assert api.delete(f"/api/v1/live-stream/{scheduled}/reminder", user=VIEWER).status == 200
    assert api.get(f"/api/v2/live-stream/user/{HOST}/upcoming-live-streams", user=VIEWER).status == 200
    assert api.get(f"/api/v1/live-stream/user/{HOST}/upcoming-live-streams").status == 200
    assert api.put(f"/internal/v1/users/{VIEWER}/following/{HOST}", api_token=API_TOKEN).status == 200
    page = api.get("/v1/live-events", query={"limit": 1}, api_token=API_TOKEN)
    assert page.status == 200 and page.json["next"]
    assert api.get("/v1/live-events", query={"limit": 1, "next": page.json["next"]}, api_token=API_TOKEN).status == 200
    # the dispatcher, with a reminder due within its lead time
    due = api.create(HOST, title="Soon", plannedStartDate=iso(datetime.now(UTC) + timedelta(minutes=5))).data["id"]
    assert api.post(f"/api/v1/live-stream/{due}/reminder", user=VIEWER).status == 200
    invoke("ReminderDispatchFunction", {"source": "aws.events"})
    assert api.post(f"/api/v1/live-stream/{scheduled}/start", user=HOST).status == 200
    assert api.post(f"/api/v1/live-stream/{stream_id}/end", user=HOST).status == 200
    # failures that carry credentials: an expired token, a wrong Api-Token, a token signed with another key
    expired = support.make_token(VIEWER, ttl=-60)
    assert api.get(f"/api/v1/live-stream/{stream_id}", headers={"Authorization": f"Bearer {expired}"}).status == 401
    forged = support.make_token(VIEWER, secret="another-secret-that-is-long-enough-for-hs256")
    assert api.get(f"/api/v1/live-stream/{stream_id}", headers={"Authorization": f"Bearer {forged}"}).status == 401
    assert api.get("/v1/live-events", api_token=API_TOKEN + "-wrong").status == 401
    assert api.put(f"/internal/v1/users/{VIEWER}", json_body={"username": "u"}, api_token="guess-" + API_TOKEN).status == 401

    captured = debug_logs.getvalue() + "".join(capsys.readouterr())
    assert "GetSecretValue" in captured or "secretsmanager" in captured  # botocore's DEBUG lines were captured
    assert len(captured) > 10_000
    assert '"message":"reminders dispatched"' in captured  # and so were the functions' own structured lines
    secrets = {"JWT secret": JWT_SECRET, "Api-Token": API_TOKEN, "Agora certificate": AGORA["appCertificate"]}
    tokens = {f"JWT {i}": t for i, t in enumerate(minted)} | {f"Agora token {i}": t for i, t in enumerate(received)}
    assert len(minted) > 15 and len(received) == 12
    leaked = [name for name, value in {**secrets, **tokens}.items() if value in captured]
    # a token's signature alone is as good as a leak of the token
    leaked += [name for name, value in tokens.items() if name.startswith("JWT") and value.rsplit(".", 1)[1] in captured]
    assert leaked == [], f"in the logs: {leaked}"
