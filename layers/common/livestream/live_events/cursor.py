"""Opaque cursors: URL-safe base64 of the position, direction and filters they were made for, signed
with HMAC-SHA256 (a key derived from the Api-Token secret); a tampered, foreign or mismatched cursor
is a 400."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import asdict

from livestream.live_events.errors import PlatformError
from livestream.live_events.filters import Filters

SIGNATURE_BYTES = 16  # a truncated HMAC-SHA256: 128 bits are beyond forging, and the cursor stays short


def cursor_key(secret: str) -> bytes:
    """The cursors' HMAC key, derived from a service secret (never the secret itself)."""
    return hashlib.sha256(b"live-events-cursor:" + secret.encode()).digest()


def make_cursor(key: bytes, position: str, direction: str, filters: Filters) -> str:
    payload = json.dumps({"p": position, "d": direction, "f": asdict(filters)}, separators=(",", ":"), sort_keys=True).encode()
    signature = hmac.new(key, payload, hashlib.sha256).digest()[:SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(signature + payload).decode().rstrip("=")


def read_cursor(key: bytes, cursor: str, name: str) -> tuple[str, str, Filters]:
    """The position, direction and filters of a cursor this service made (400 naming ``name`` else)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        signature, payload = raw[:SIGNATURE_BYTES], raw[SIGNATURE_BYTES:]
        if not hmac.compare_digest(signature, hmac.new(key, payload, hashlib.sha256).digest()[:SIGNATURE_BYTES]):
            raise ValueError("bad signature")
        data = json.loads(payload)
        return str(data["p"]), str(data["d"]), Filters(**data["f"])
    except (ValueError, KeyError, TypeError) as exc:
        raise PlatformError(f"{name}: invalid cursor") from exc
