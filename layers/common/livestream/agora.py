"""Agora RTC and RTM tokens and the uid allocation policy.

Two token formats, chosen by AGORA_TOKEN_VERSION (template parameter ``AgoraTokenVersion``):

- ``007`` (default), AccessToken2, what Agora's current SDKs expect. No package on PyPI builds it
  (agora-token-builder stops at 006; agora-python-server-sdk is the native media SDK, without token
  builders), so :func:`access_token2` packs Agora's published layout: ``"007"`` + base64(zlib(
  signature, app id, issue ts, expire, salt, services)), each service its type, its privileges
  (id → seconds from issue) and its subject (RTC: channel and uid; RTM: user id); the signature is
  HMAC-SHA256 keyed by HMAC(salt, HMAC(issue ts, certificate)). Checked against Agora's own test vector.
- ``006``, AccessToken, for older SDKs: agora-token-builder.

Credentials come from the Agora secret (JSON ``{"appId", "appCertificate"}``) through Powertools
parameters, cached; they are never logged. Expiry is computed per request from the configured
lifetime (AGORA_TOKEN_TTL_SECONDS).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import zlib
from datetime import UTC, datetime, timedelta
from typing import Optional, TypedDict

from livestream.clock import iso
from livestream.secrets import get_secret_json
from livestream.settings import get_settings

UID_MAX = 2**32 - 1
PUBLISHER_ROLES = frozenset({"host", "broadcaster", "guest"})


def uid_candidate(stream_id: str, user_id: str, attempt: int) -> int:
    """The ``attempt``-th uid to try for a user in a stream: deterministic, so that concurrent first
    joins of one user converge on the same uid; 32-bit unsigned and never 0."""
    digest = hashlib.sha256(f"{stream_id}:{user_id}:{attempt}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % UID_MAX + 1


def credentials() -> tuple[str, str]:
    secret = get_secret_json(get_settings().agora_secret_name)
    return secret["appId"], secret["appCertificate"]


class RtcCredentials(TypedDict):
    """What a client joins the channel's audio/video with."""

    appId: str
    channelName: str
    token: str
    uid: int
    role: str
    expiresAt: str


class RtmCredentials(TypedDict):
    """What a client logs in to Agora's messaging with, as the user."""

    appId: str
    channelName: str
    userId: str
    token: str
    expiresAt: str


class Credentials(TypedDict):
    agora: RtcCredentials
    rtm: RtmCredentials


def mint(channel_name: str, uid: int, user_id: str, role: str) -> Credentials:
    """``{"agora": {...}, "rtm": {...}}`` for a participant: an RTC publisher token for host, broadcaster
    and guest, a subscriber token for the audience; an RTM token for the user id."""
    app_id, certificate = credentials()
    issued = datetime.now(UTC).replace(microsecond=0)
    expires = issued + timedelta(seconds=get_settings().agora_token_ttl_seconds)
    publisher = role in PUBLISHER_ROLES
    if get_settings().agora_token_version == "007":  # noqa: S105 - a format version, not a secret
        issue_ts, ttl = int(issued.timestamp()), get_settings().agora_token_ttl_seconds
        rtc_token = rtc_token2(app_id, certificate, channel_name, uid, publisher=publisher, issue_ts=issue_ts, ttl=ttl)
        rtm_token = rtm_token2(app_id, certificate, user_id, issue_ts=issue_ts, ttl=ttl)
    else:
        rtc_token, rtm_token = _tokens006(app_id, certificate, channel_name, uid, user_id, publisher, int(expires.timestamp()))
    return {
        "agora": {
            "appId": app_id,
            "channelName": channel_name,
            "token": rtc_token,
            "uid": uid,
            "role": role,
            "expiresAt": iso(expires),
        },
        "rtm": {
            "appId": app_id,
            "channelName": channel_name,
            "userId": user_id,
            "token": rtm_token,
            "expiresAt": iso(expires),
        },
    }


def _tokens006(app_id: str, certificate: str, channel: str, uid: int, user_id: str, publisher: bool, expires_ts: int) -> tuple[str, str]:
    from agora_token_builder import RtcTokenBuilder, RtmTokenBuilder
    from agora_token_builder.RtcTokenBuilder import Role_Publisher, Role_Subscriber
    from agora_token_builder.RtmTokenBuilder import Role_Rtm_User

    rtc_role = Role_Publisher if publisher else Role_Subscriber
    return (
        RtcTokenBuilder.buildTokenWithUid(app_id, certificate, channel, uid, rtc_role, expires_ts),
        RtmTokenBuilder.buildToken(app_id, certificate, user_id, Role_Rtm_User, expires_ts),
    )


# ---------------------------------------------------------------- AccessToken2 (007)

SERVICE_RTC, SERVICE_RTM = 1, 2
RTC_JOIN_CHANNEL, RTC_PUBLISH_AUDIO, RTC_PUBLISH_VIDEO, RTC_PUBLISH_DATA = 1, 2, 3, 4
RTM_LOGIN = 1


def rtc_token2(app_id: str, certificate: str, channel: str, uid: int, *, publisher: bool, issue_ts: int, ttl: int) -> str:
    """An RTC AccessToken2: join (and, for publishers, publish audio, video and data) for ``ttl`` seconds."""
    privileges = [RTC_JOIN_CHANNEL] + ([RTC_PUBLISH_AUDIO, RTC_PUBLISH_VIDEO, RTC_PUBLISH_DATA] if publisher else [])
    subject = _string(channel.encode()) + _string(b"" if uid == 0 else str(uid).encode())
    return access_token2(app_id, certificate, [(SERVICE_RTC, dict.fromkeys(privileges, ttl), subject)], issue_ts=issue_ts, expire=ttl)


def rtm_token2(app_id: str, certificate: str, user_id: str, *, issue_ts: int, ttl: int) -> str:
    """An RTM AccessToken2: log in as ``user_id`` for ``ttl`` seconds."""
    return access_token2(app_id, certificate, [(SERVICE_RTM, {RTM_LOGIN: ttl}, _string(user_id.encode()))], issue_ts=issue_ts, expire=ttl)


def access_token2(
    app_id: str, certificate: str, services: list[tuple[int, dict[int, int], bytes]], *, issue_ts: int, expire: int, salt: Optional[int] = None
) -> str:
    """Agora's AccessToken2 ("007") over ``services`` = [(service type, {privilege: seconds}, packed subject)]."""
    salt = secrets.SystemRandom().randint(1, 99_999_999) if salt is None else salt
    signing = hmac.new(struct.pack("<I", issue_ts), certificate.encode(), hashlib.sha256).digest()
    signing = hmac.new(struct.pack("<I", salt), signing, hashlib.sha256).digest()
    info = _string(app_id.encode()) + struct.pack("<IIIH", issue_ts, expire, salt, len(services))
    for service_type, privileges, subject in services:
        info += struct.pack("<HH", service_type, len(privileges))
        info += b"".join(struct.pack("<HI", key, privileges[key]) for key in sorted(privileges))
        info += subject
    signature = hmac.new(signing, info, hashlib.sha256).digest()
    return "007" + base64.b64encode(zlib.compress(_string(signature) + info)).decode("ascii")


def _string(value: bytes) -> bytes:
    return struct.pack("<H", len(value)) + value
