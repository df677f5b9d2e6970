"""Agora RTC and RTM tokens (agora-token-builder) and the uid allocation policy.

Credentials come from the Agora secret (JSON ``{"appId", "appCertificate"}``) through Powertools
parameters, cached; they are never logged. Expiry is computed per request from the configured
lifetime (AGORA_TOKEN_TTL_SECONDS).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

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


def mint(channel_name: str, uid: int, user_id: str, role: str) -> dict[str, Any]:
    """``{"agora": {...}, "rtm": {...}}`` for a participant: an RTC publisher token for host, broadcaster
    and guest, a subscriber token for the audience; an RTM token for the user id."""
    from agora_token_builder import RtcTokenBuilder, RtmTokenBuilder
    from agora_token_builder.RtcTokenBuilder import Role_Publisher, Role_Subscriber
    from agora_token_builder.RtmTokenBuilder import Role_Rtm_User

    app_id, certificate = credentials()
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=get_settings().agora_token_ttl_seconds)
    expires_ts = int(expires.timestamp())
    rtc_role = Role_Publisher if role in PUBLISHER_ROLES else Role_Subscriber
    return {
        "agora": {
            "appId": app_id,
            "channelName": channel_name,
            "token": RtcTokenBuilder.buildTokenWithUid(app_id, certificate, channel_name, uid, rtc_role, expires_ts),
            "uid": uid,
            "role": role,
            "expiresAt": iso(expires),
        },
        "rtm": {
            "appId": app_id,
            "channelName": channel_name,
            "userId": user_id,
            "token": RtmTokenBuilder.buildToken(app_id, certificate, user_id, Role_Rtm_User, expires_ts),
            "expiresAt": iso(expires),
        },
    }
