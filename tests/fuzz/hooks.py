"""Schemathesis hooks for fuzzing the API over HTTP (loaded through SCHEMATHESIS_HOOKS=tests.fuzz.hooks).

- Credentials: every case gets what its operation's security asks for, valid: a freshly signed JWT
  of a synced user (``bearerJwt``) and the Api-Token (``apiToken``), so the fuzzer reaches the code
  behind authentication instead of stopping at 401.
- Agora notifications: the body is serialised here, once, and signed as Agora signs it
  (``Agora-Signature-V2``: hex HMAC-SHA256 of the raw body with the notification secret), so the
  fuzzer reaches the webhook's validation and presence code instead of stopping at 401; the bytes
  signed are the bytes sent.
- Ids: a well-formed generated stream or user id is swapped, for about half of the cases, for one
  that exists (chosen from the generated value, so runs stay reproducible under a fixed seed);
  malformed ids from negative generation are left as generated. A notification's
  ``payload.channelName`` is swapped the same way for one of the live streams' channels.

Configuration comes from the environment the runner (tests/fuzz/run.py) sets: FUZZ_JWT_SECRET,
FUZZ_API_TOKEN, FUZZ_AGORA_SECRET, FUZZ_USER_ID, FUZZ_STREAM_IDS and FUZZ_CHANNELS (comma-separated).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import time
import warnings
from typing import Any

import jwt
import schemathesis

# the development JWT secret is short; that is the local stack's business, not the fuzzer's
warnings.filterwarnings("ignore", category=jwt.warnings.InsecureKeyLengthWarning)

ID = re.compile(r"[0-9a-f]{24}")


def _security(case: Any) -> set[str]:
    schemes: set[str] = set()
    for requirement in case.operation.definition.raw.get("security", []):
        schemes.update(requirement)
    return schemes


@schemathesis.auth()
class Credentials:
    def get(self, case: Any, context: Any) -> str:
        now = int(time.time())
        claims = {"sub": os.environ["FUZZ_USER_ID"], "iat": now, "exp": now + 3600}
        return jwt.encode(claims, os.environ["FUZZ_JWT_SECRET"], algorithm="HS256")

    def set(self, case: Any, data: str, context: Any) -> None:
        schemes = _security(case)
        case.headers = dict(case.headers or {})
        if "bearerJwt" in schemes:
            case.headers["Authorization"] = f"Bearer {data}"
        if "apiToken" in schemes:
            case.headers["Api-Token"] = os.environ["FUZZ_API_TOKEN"]
        if "agoraSignature" in schemes:
            _sign(case)


def _sign(case: Any) -> None:
    """Serialise a JSON body as the transport would (bytes are sent as they are) and sign those bytes;
    a body JSON cannot carry (NaN, a generated binary) is left unsigned: 401 is then the right answer."""
    if not isinstance(case.body, bytes):
        try:
            case.body = json.dumps(case.body, allow_nan=False).encode()
        except (TypeError, ValueError):
            return
    secret = os.environ["FUZZ_AGORA_SECRET"].encode()
    case.headers["Agora-Signature-V2"] = hmac.new(secret, case.body, hashlib.sha256).hexdigest()


def _pick(generated: str, choices: list[str]) -> str | None:
    digest = hashlib.sha256(generated.encode()).digest()
    if digest[0] % 2 or not choices:
        return None
    return choices[digest[1] % len(choices)]


@schemathesis.hook
def map_path_parameters(context: Any, path_parameters: dict[str, Any]) -> dict[str, Any]:
    if not path_parameters:
        return path_parameters
    streams, users = _streams(), [os.environ["FUZZ_USER_ID"]]
    mapped = dict(path_parameters)
    for name, value in path_parameters.items():
        if isinstance(value, str) and ID.fullmatch(value):
            real = _pick(value, streams if name == "id" else users)
            if real is not None:
                mapped[name] = real
    return mapped


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    """The join bodies: ``liveStreamId`` swapped as path ids are; a notification's channel likewise."""
    if isinstance(body, dict) and isinstance(body.get("liveStreamId"), str) and ID.fullmatch(body["liveStreamId"]):
        real = _pick(body["liveStreamId"], _streams())
        if real is not None:
            return {**body, "liveStreamId": real}
    payload = body.get("payload") if isinstance(body, dict) else None
    if isinstance(payload, dict) and isinstance(payload.get("channelName"), str):
        channel = _pick(payload["channelName"], _listed("FUZZ_CHANNELS"))
        if channel is not None:
            return {**body, "payload": {**payload, "channelName": channel}}
    return body


def _streams() -> list[str]:
    return _listed("FUZZ_STREAM_IDS")


def _listed(name: str) -> list[str]:
    return [s for s in os.environ.get(name, "").split(",") if s]
