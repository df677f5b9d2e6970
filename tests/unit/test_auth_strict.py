"""JWT claims are held to their exact types: ``sub`` is 24 lowercase hex characters and nothing else,
``exp`` is required, ``exp``/``nbf``/``iat`` are JSON numbers. Anything else is 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from livestream import auth
from livestream.errors import Unauthorized
from tests.support import JWT_SECRET, make_token, user_id

ME = "5f0c1e2d3b4a59687f8e9d0c"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def signed(payload: str) -> str:
    """An HS256 token over a payload written as raw JSON text (so it can hold what json.dumps would not)."""
    signing_input = _b64(b'{"alg":"HS256","typ":"JWT"}') + "." + _b64(payload.encode())
    signature = hmac.new(JWT_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(signature)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# parametrized tokens are made at collection, maybe many minutes before they are checked: their expiry
# lies a month ahead (the checks below are about types, never about time)
LATER = 4_102_444_800  # 2100-01-01: fixed, so every test worker collects the same parameter ids


def test_a_well_typed_token_is_accepted(aws):
    NOW = int(time.time())
    assert auth.caller_id(bearer(signed(f'{{"sub": "{ME}", "exp": {NOW + 600}, "iat": {NOW}, "nbf": {NOW - 1}}}'))) == ME
    assert auth.caller_id(bearer(signed(f'{{"sub": "{ME}", "exp": {NOW + 600}.5}}'))) == ME  # a JSON number may have a fraction


@pytest.mark.parametrize(
    "sub",
    [
        ME + "\n",  # `re.match` with `$` would take it, and it would become a second identity
        ME + "\r\n",
        "\n" + ME,
        ME + " ",
        ME.upper(),
        ME[:-1],
        ME + "0",
        "0" * 23 + "g",
        "٠" * 24,  # Arabic-Indic digits: decimal, but not hex
    ],
)
def test_the_subject_is_exactly_24_lowercase_hex(aws, sub):
    with pytest.raises(Unauthorized) as caught:
        auth.caller_id(bearer(make_token(sub)))
    assert caught.value.status == 401


@pytest.mark.parametrize("sub", ["12345", "true", "null", f'["{ME}"]', f'{{"id": "{ME}"}}', "1e3"])
def test_a_subject_that_is_not_a_string_is_rejected(aws, sub):
    with pytest.raises(Unauthorized):
        auth.caller_id(bearer(signed(f'{{"sub": {sub}, "exp": {LATER}}}')))


def test_exp_is_required(aws):
    with pytest.raises(Unauthorized):
        auth.caller_id(bearer(signed(f'{{"sub": "{ME}", "iat": {int(time.time())}}}')))


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize(
    "value",
    [
        f'"{LATER}"',  # a number in a string is not a number
        "true",
        "false",
        "null",
        f"[{LATER}]",
        f'{{"at": {LATER}}}',
        "NaN",
        "Infinity",
        "-Infinity",
        "1e400",
    ],
)
def test_time_claims_are_json_numbers(aws, claim, value):
    claims = {"sub": f'"{ME}"', "exp": str(LATER), claim: value}
    payload = "{" + ", ".join(f'"{k}": {v}' for k, v in claims.items()) + "}"
    with pytest.raises(Unauthorized) as caught:
        auth.caller_id(bearer(signed(payload)))
    assert caught.value.status == 401


@pytest.mark.parametrize("payload", ["[" * 5000 + "]" * 5000, '"just a string"', "12", f'{{"sub": "{ME}", "exp": {"9" * 5000}}}'])
def test_payloads_that_are_not_claim_sets_are_401_not_500(aws, payload):
    with pytest.raises(Unauthorized):
        auth.caller_id(bearer(signed(payload)))


def test_over_http_a_trailing_newline_subject_is_401_in_the_envelope(api):
    reply = api.request("GET", f"/api/v1/live-stream/{user_id(1)}", headers=bearer(make_token(ME + "\n")))
    assert reply.status == 401
    assert reply.errors[0] == "Authentication required"
    reply = api.request("GET", f"/api/v1/live-stream/{user_id(1)}", headers=bearer(signed(f'{{"sub": "{ME}", "exp": "{LATER}"}}')))
    assert reply.status == 401
    assert json.dumps(reply.json)  # the envelope, serialisable
