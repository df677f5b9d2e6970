"""Caller authentication: bearer JWTs for users, the ``Api-Token`` header for other services.

JWTs are verified with pyjwt for signature, ``exp`` (required), ``nbf``/``iat`` when present and
``iss``/``aud`` when configured; only the configured algorithm is accepted (``none`` never). On top
of pyjwt, the claims are held to their JSON types: ``exp``/``nbf``/``iat`` are JSON numbers (pyjwt
would take ``"1767225600"`` or ``true`` through ``int()``), and ``sub`` is exactly 24 lowercase hex
characters (``fullmatch``: a trailing newline makes another string, not the same user).
pyjwt is imported on first use: endpoints that never see a token do not pay for it. pyjwt imports
``cryptography`` (for RSA and EC keys) whatever the algorithm, about a third of a cold start's extra
cost; HS256 needs only :mod:`hmac`, so with HS256 configured pyjwt is imported without it
(:func:`pyjwt`). pyjwt still does every check.
"""

from __future__ import annotations

import hmac
import math
import sys
from functools import lru_cache
from types import ModuleType
from typing import Any

from livestream.errors import ApiError, Unauthorized
from livestream.ids import is_id
from livestream.secrets import get_secret_string
from livestream.settings import get_settings

LEEWAY_SECONDS = 5


def bearer_token(headers: dict[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer`` header; ``None`` when the header is absent.

    A header that is present but not a bearer credential is a 401, not an anonymous caller.
    """
    value = _header(headers, "authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("authorization: expected 'Bearer <token>'")
    return token.strip()


def caller_id(headers: dict[str, str], *, required: bool = True) -> str | None:
    """The verified user id (``sub``) of the caller, or ``None`` for an anonymous caller when allowed."""
    token = bearer_token(headers)
    if token is None:
        if required:
            raise Unauthorized("authorization: bearer token required")
        return None
    subject: str = verify_jwt(token)["sub"]
    return subject


def verify_jwt(token: str) -> dict[str, Any]:
    settings = get_settings()
    jwt = pyjwt(asymmetric=settings.jwt_algorithm != "HS256")
    key = _signing_key(jwt, token)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[settings.jwt_algorithm],
            issuer=settings.jwt_issuer or None,
            audience=settings.jwt_audience or None,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "sub"], "verify_aud": bool(settings.jwt_audience)},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("authorization: token expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("authorization: invalid token") from exc
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:  # a payload pyjwt's own checks trip over
        raise Unauthorized("authorization: invalid token") from exc
    _check_claims(claims)
    return claims


def _signing_key(jwt: ModuleType, token: str) -> Any:
    """The HS256 secret (Secrets Manager), or the RS256 key the token names (the JWKS endpoint)."""
    settings = get_settings()
    if settings.jwt_algorithm == "HS256":
        return get_secret_string(settings.jwt_secret_name)
    try:
        return _jwks_client(settings.jwt_jwks_url).get_signing_key_from_jwt(token).key
    except jwt.PyJWKClientConnectionError as exc:
        raise ApiError("authorization: signing keys unavailable", status=503) from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("authorization: invalid token") from exc


def _check_claims(claims: dict[str, Any]) -> None:
    for claim in TIME_CLAIMS:
        if claim in claims and not _is_json_number(claims[claim]):
            raise Unauthorized(f"authorization: the {claim} claim must be a number")
    if not is_id(claims.get("sub")):
        raise Unauthorized("authorization: token subject is not a user id")


TIME_CLAIMS = ("exp", "nbf", "iat")


def _is_json_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def pyjwt(*, asymmetric: bool) -> ModuleType:
    """The ``jwt`` module, imported once per container.

    For HS256 (``asymmetric=False``) and ``cryptography`` not yet loaded, pyjwt is imported with
    ``cryptography`` hidden (a ``None`` entry in :data:`sys.modules` makes its import fail, the
    documented way to block one): pyjwt then takes its own path for an installation without it and
    offers the HMAC algorithms only, which is all HS256 uses. For RS256 a pyjwt loaded that way is
    imported again, whole."""
    loaded = sys.modules.get("jwt")
    if loaded is not None and (not asymmetric or loaded.algorithms.has_crypto):
        return loaded
    _forget_pyjwt()  # absent, or loaded without cryptography: load it (whole, for RS256)
    if asymmetric or "cryptography" in sys.modules:
        import jwt

        return jwt
    sys.modules["cryptography"] = None  # type: ignore[assignment]  # None: "this import fails"
    try:
        import jwt
    finally:
        if sys.modules.get("cryptography", "") is None:
            del sys.modules["cryptography"]
    return jwt


def _forget_pyjwt() -> None:
    for name in [m for m in sys.modules if m == "jwt" or m.startswith("jwt.")]:
        del sys.modules[name]


@lru_cache(maxsize=4)
def _jwks_client(url: str) -> Any:
    jwt = pyjwt(asymmetric=True)
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=300)


def require_api_token(headers: dict[str, str]) -> None:
    """Server-to-server callers present the shared ``Api-Token``; compared in constant time."""
    provided = _header(headers, "api-token")
    if not provided:
        raise Unauthorized("Api-Token: header required")
    expected = get_secret_string(get_settings().api_token_secret_name)
    if not hmac.compare_digest(provided.encode(), expected.encode()):
        raise Unauthorized("Api-Token: invalid token")


def _header(headers: dict[str, str] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value
    return None
