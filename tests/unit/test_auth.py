"""Bearer JWT verification (pyjwt): signature, exp, nbf, iat, iss/aud when configured, algorithms."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from livestream import auth
from livestream.errors import ApiError, Unauthorized
from tests.support import JWT_SECRET, make_token, reset_caches, user_id

ME = user_id(7)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_valid_token_gives_its_subject(aws):
    assert auth.caller_id(bearer(make_token(ME))) == ME
    assert auth.caller_id({"authorization": f"bearer {make_token(ME)}"}) == ME


def test_anonymous_only_where_allowed(aws):
    assert auth.caller_id({}, required=False) is None
    with pytest.raises(Unauthorized):
        auth.caller_id({})


@pytest.mark.parametrize(
    "token",
    [
        make_token(ME, ttl=-30),  # expired (beyond the 5 s leeway)
        jwt.encode({"sub": ME}, JWT_SECRET, algorithm="HS256"),  # no exp
        make_token(ME, nbf=int(time.time()) + 86400),  # not yet valid (for a day: parametrised at collection, run much later)
        make_token(ME, iat="yesterday"),  # malformed iat
        make_token(ME, secret="a-different-secret-of-sufficient-length"),  # wrong signature
        make_token(ME, algorithm="HS512"),  # an algorithm not configured
        jwt.encode({"sub": ME, "exp": int(time.time()) + 60}, None, algorithm="none"),  # alg none
        make_token("someone"),  # subject is not a user id
        "a.b.c",
    ],
    # ids that do not depend on the clock: pytest-xdist workers must collect the same test names
    ids=["expired", "no-exp", "not-yet-valid", "malformed-iat", "wrong-signature", "hs512", "alg-none", "bad-sub", "not-a-jwt"],
)
def test_bad_tokens_are_rejected(aws, token):
    with pytest.raises(Unauthorized):
        auth.caller_id(bearer(token), required=False)


def test_issuer_and_audience_are_checked_when_configured(aws, monkeypatch):
    monkeypatch.setenv("JWT_ISSUER", "https://id.example.com")
    monkeypatch.setenv("JWT_AUDIENCE", "live-stream")
    reset_caches()
    good = make_token(ME, iss="https://id.example.com", aud="live-stream")
    assert auth.caller_id(bearer(good)) == ME
    for token in (
        make_token(ME, iss="https://evil.example.com", aud="live-stream"),
        make_token(ME, iss="https://id.example.com"),
        make_token(ME),
    ):
        with pytest.raises(Unauthorized):
            auth.caller_id(bearer(token))


def test_audience_is_not_checked_when_not_configured(aws):
    assert auth.caller_id(bearer(make_token(ME, aud="anything"))) == ME


@pytest.fixture
def jwks_server():
    """A JWKS endpoint on loopback serving one RSA public key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="k1", use="sig", alg="RS256")
    payload = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield key, f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
    server.shutdown()


def test_rs256_with_a_jwks_url(aws, monkeypatch, jwks_server):
    key, url = jwks_server
    monkeypatch.setenv("JWT_ALGORITHM", "RS256")
    monkeypatch.setenv("JWT_JWKS_URL", url)
    reset_caches()
    token = jwt.encode({"sub": ME, "exp": int(time.time()) + 60}, key, algorithm="RS256", headers={"kid": "k1"})
    assert auth.caller_id(bearer(token)) == ME
    # an HS256 token signed with the public key (algorithm confusion) is refused
    forged = make_token(ME)
    with pytest.raises(Unauthorized):
        auth.caller_id(bearer(forged))
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(Unauthorized):
        auth.caller_id(bearer(jwt.encode({"sub": ME, "exp": int(time.time()) + 60}, other, algorithm="RS256", headers={"kid": "k1"})))


def test_an_unreachable_jwks_is_503_not_401(aws, monkeypatch):
    monkeypatch.setenv("JWT_ALGORITHM", "RS256")
    monkeypatch.setenv("JWT_JWKS_URL", "http://127.0.0.1:9/jwks.json")
    reset_caches()
    header = base64.urlsafe_b64encode(json.dumps({"alg": "RS256", "kid": "k1"}).encode()).rstrip(b"=").decode()
    with pytest.raises(ApiError) as raised:
        auth.caller_id(bearer(f"{header}.e30.c2ln"))
    assert raised.value.status == 503


def test_api_token_is_compared_in_constant_time(aws, monkeypatch):
    import hmac

    seen = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: seen.append((a, b)) or real(a, b))
    auth.require_api_token({"Api-Token": "test-api-token"})
    assert seen == [(b"test-api-token", b"test-api-token")]
    with pytest.raises(Unauthorized):
        auth.require_api_token({"api-token": "nope"})


PYJWT_WITHOUT_CRYPTOGRAPHY = """
import sys, time
from livestream import auth
jwt = auth.pyjwt(asymmetric=False)
assert "cryptography" not in sys.modules, "HS256 loaded cryptography"
token = jwt.encode({"sub": "a" * 24, "exp": int(time.time()) + 60}, "k" * 32, algorithm="HS256")
assert jwt.decode(token, "k" * 32, algorithms=["HS256"])["sub"] == "a" * 24
try:
    jwt.decode(token, "another-key-of-sufficient-length", algorithms=["HS256"])
except jwt.InvalidSignatureError:
    pass
else:
    raise AssertionError("a wrong key verified")
jwt = auth.pyjwt(asymmetric=True)  # RS256 configured later: pyjwt loaded again, whole
from cryptography.hazmat.primitives.asymmetric import rsa
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
token = jwt.encode({"sub": "b" * 24}, key, algorithm="RS256")
assert jwt.decode(token, key.public_key(), algorithms=["RS256"])["sub"] == "b" * 24
print("ok")
"""


def test_hs256_loads_pyjwt_without_cryptography_and_rs256_still_works():
    """A fresh interpreter, as a cold start: HS256 verification does not import cryptography (a third
    of the cold start's extra cost); an RS256 configuration still gets pyjwt whole."""
    import subprocess
    import sys

    from local.cfn import LAYER_DIR

    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(LAYER_DIR)!r})\n" + PYJWT_WITHOUT_CRYPTOGRAPHY],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
