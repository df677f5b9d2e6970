"""Presence from the media side: Agora's channel event notifications (the sweep of stale viewers is
:mod:`livestream.presence_sweep`).

Agora's Notifications service (RTC channel events) POSTs ``{noticeId, productId, eventType, notifyMs,
sid, payload}`` to ``/webhooks/agora``, signed in ``Agora-Signature-V2``: the hex HMAC-SHA256 of the raw
body keyed with the notification secret. Events applied (the rest are acknowledged and ignored):

  102 channel destroy               everyone in the channel left: viewers and publishers, as ``leave``
  103 / 104 broadcaster join / leave     the participant streams / stops streaming
  105 / 106 audience join / leave        the participant watches (counted) / stops (counted out)
  111 client role → broadcaster     stops watching, streams
  112 client role → audience        stops streaming, watches (not a listed host, broadcaster or guest:
                                    they are never audience)

The stream is found by channel name (its ``CHANNEL#<name>`` guard), the participant by uid (the
stream's ``UID#<uid>`` guard); unknown channels and uids are acknowledged and ignored. Each event goes
through :func:`livestream.participants.settle`: one conditional write that moves the flags as
join and leave do (the aggregator counts the change), records ``clientSeq`` (only a newer one applies) and the ``noticeId`` (a second
delivery has no effect).

A body whose signature verifies but which is not a notification (not JSON, or a handled event without
``channelName``, ``uid``, ``clientSeq`` or ``ts``) is answered 400 naming the field: only someone holding
the secret can send it, so it is a bug to surface, not noise to swallow. Agora retries it three times.

DynamoDB round trips per user event: GetItem (channel), BatchGetItem (stream, uid guard),
BatchGetItem (participant, profile), TransactWriteItems (participant, notice).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Optional

from livestream import participants, store
from livestream.errors import Unauthorized
from livestream.secrets import get_secret_string
from livestream.settings import get_settings
from livestream.store import presence as stored
from livestream.store.streams import Stream

if TYPE_CHECKING:  # the webhook validates with them; the sweep never loads pydantic
    from livestream.notifications import AgoraNotification

SIGNATURE_HEADER = "agora-signature-v2"

CHANNEL_DESTROY = 102
BROADCASTER_JOIN, BROADCASTER_LEAVE = 103, 104
AUDIENCE_JOIN, AUDIENCE_LEAVE = 105, 106
ROLE_TO_BROADCASTER, ROLE_TO_AUDIENCE = 111, 112

# eventType → (watching, streaming) the participant is in afterwards (None: unchanged)
USER_EVENTS: dict[int, tuple[Optional[bool], Optional[bool]]] = {
    BROADCASTER_JOIN: (None, True),
    BROADCASTER_LEAVE: (None, False),
    AUDIENCE_JOIN: (True, None),
    AUDIENCE_LEAVE: (False, None),
    ROLE_TO_BROADCASTER: (False, True),
    ROLE_TO_AUDIENCE: (True, False),
}


# ---------------------------------------------------------------- signature


def raw_body(event: dict[str, Any]) -> bytes:
    """The request body exactly as Agora sent it (API Gateway base64-encodes binary media types)."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode("utf-8")


def verify_signature(event: dict[str, Any]) -> None:
    """``Agora-Signature-V2`` must be the hex HMAC-SHA256 of the raw body keyed with the notification
    secret (constant-time comparison); else 401 and nothing is applied."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    given = headers.get(SIGNATURE_HEADER)
    if not given:
        raise Unauthorized("Agora-Signature-V2: missing")
    secret = get_secret_string(get_settings().agora_notification_secret_name)
    expected = sign(raw_body(event), secret)
    if not hmac.compare_digest(expected.encode("ascii"), given.strip().lower().encode("utf-8", "replace")):
        raise Unauthorized("Agora-Signature-V2: does not match the body")


def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- applying events


def apply(notification: AgoraNotification, time_left_ms: Callable[[], int] = lambda: 10_000) -> dict[str, Any]:
    """Apply one notification; answers what happened (``applied``, ``duplicate``, ``stale``, ``ignored``)."""
    result = {"noticeId": notification.noticeId, "eventType": notification.eventType}
    if notification.eventType == CHANNEL_DESTROY:
        return {**result, **_destroy(notification, time_left_ms)}
    if notification.eventType not in USER_EVENTS:
        return {**result, "outcome": "ignored", "reason": "event type not used"}
    return {**result, **_user_event(notification)}


def _user_event(notification: AgoraNotification) -> dict[str, Any]:
    payload = notification.payload
    stream_id = stored.channel_stream(payload.channelName or "")
    if stream_id is None:
        return {"outcome": "ignored", "reason": "unknown channel"}
    stream, user_id = stored.stream_and_uid_holder(stream_id, payload.uid or 0)
    if stream is None or user_id is None:
        return {"outcome": "ignored", "reason": "unknown uid" if stream else "unknown channel"}
    part, profile = stored.participant_and_profile(stream_id, user_id)
    if part is None:
        return {"outcome": "ignored", "reason": "unknown uid"}
    watching, streaming = USER_EVENTS[notification.eventType]
    outcome = participants.settle(
        stream,
        user_id,
        part,
        profile,
        watching=watching,
        streaming=streaming,
        guard=participants.Guard(notification.noticeId, payload.clientSeq, payload.ts or 0),
    )
    return {"outcome": outcome, "liveStreamId": stream_id, "userId": user_id}


DESTROY_BUDGET_MS = 2_000  # Agora waits 10 s; viewers left over expire by their deadline


def _destroy(notification: AgoraNotification, time_left_ms: Callable[[], int]) -> dict[str, Any]:
    """Channel destroyed: everyone still marked in it leaves, unless they rejoined after ``ts``."""
    payload = notification.payload
    stream_id = stored.channel_stream(payload.channelName or "")
    if stream_id is None:
        return {"outcome": "ignored", "reason": "unknown channel"}
    if not participants.claim_notice(notification.noticeId):
        return {"outcome": "duplicate"}
    try:
        stream = store.get(store.stream_key(stream_id))
        if stream is None:
            return {"outcome": "ignored", "reason": "unknown channel"}
        left = _everyone_leaves(stream, participants.Guard(None, None, payload.ts or 0), time_left_ms)
    except Exception:
        participants.release_notice(notification.noticeId)
        raise
    return {"outcome": "applied", "liveStreamId": stream_id, "left": left}


def _everyone_leaves(stream: dict[str, Any], guard: participants.Guard, time_left_ms: Callable[[], int]) -> int:
    """Settle the publishers, then the audience page after page, as leaving, until every shard is read
    or the time budget is spent; answers how many left."""
    typed = Stream.of(stream)
    stream_id, pending = typed.id, typed.members
    deadline_ms = time_left_ms() - DESTROY_BUDGET_MS
    cursor: Optional[dict[str, Any]] = None
    left = 0
    while True:
        for user_id, part in stored.participants(stream_id, pending):
            if part.get("watching") or part.get("streaming"):
                outcome = participants.settle(stream, user_id, part, None, watching=False, streaming=False, guard=guard)
                left += outcome == "applied"
        if time_left_ms() < deadline_ms or cursor == {}:
            return left  # out of time, or every shard of the audience read
        pending, cursor = stored.viewers_page(stream_id, cursor)
