"""An Agora AccessToken2 ("007") reader written from Agora's published layout, independent of the
builder in the layer: it unpacks every field, insists nothing is left over, and checks the signature
with the App Certificate."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import zlib
from typing import Any

SERVICE_NAMES = {1: "rtc", 2: "rtm"}


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, fmt: str) -> Any:
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def string(self) -> bytes:
        n = self.take("H")
        value = self.data[self.at : self.at + n]
        assert len(value) == n, "truncated string"
        self.at += n
        return value


def decode_token2(token: str, certificate: str) -> dict[str, Any]:
    """``{appId, issueTs, expire, salt, services: {"rtc": {privileges, channel, uid}, "rtm": {privileges, userId}}}``
    with the signature verified (an AssertionError otherwise)."""
    assert token.startswith("007"), token[:3]
    data = zlib.decompress(base64.b64decode(token[3:], validate=True))
    reader = _Reader(data)
    signature = reader.string()
    signed_from = reader.at
    app_id = reader.string().decode()
    issue_ts, expire, salt, count = reader.take("IIIH")
    services: dict[str, Any] = {}
    for _ in range(count):
        kind = reader.take("H")
        privileges = dict(reader.take("HI") for _ in range(reader.take("H")))
        if kind == 1:
            services["rtc"] = {"privileges": privileges, "channel": reader.string().decode(), "uid": reader.string().decode()}
        elif kind == 2:
            services["rtm"] = {"privileges": privileges, "userId": reader.string().decode()}
        else:
            raise AssertionError(f"unexpected service {kind}")
    assert reader.at == len(data), "bytes left over"
    key = hmac.new(struct.pack("<I", issue_ts), certificate.encode(), hashlib.sha256).digest()
    key = hmac.new(struct.pack("<I", salt), key, hashlib.sha256).digest()
    assert hmac.compare_digest(signature, hmac.new(key, data[signed_from:], hashlib.sha256).digest()), "bad signature"
    return {"appId": app_id, "issueTs": issue_ts, "expire": expire, "salt": salt, "services": services}
