"""Caller authentication: bearer JWTs for users, the ``Api-Token`` header for other services.

JWTs are verified with pyjwt for signature, ``exp`` (required), ``nbf``/``iat`` when present and
``iss``/``aud`` when configured; only the configured algorithm is accepted (``none`` never). On top
of pyjwt, the claims are held to their JSON types: ``exp``/``nbf``/``iat`` are JSON numbers (pyjwt
would take ``"1767225600"`` or ``true`` through ``int()``), and ``sub`` is exactly 24 lowercase hex
characters (``fullmatch``: a trailing newline makes another string, not the same user).
pyjwt is imported on first use: endpoints that never see a token do not pay for it.
"""

from __future__ import annotations

import hmac
import math
from functools import lru_cache
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
    return verify_jwt(token)["sub"]


def verify_jwt(token: str) -> dict[str, Any]:
    import jwt

    settings = get_settings()
    try:
        if settings.jwt_algorithm == "RS256":
            key: Any = _jwks_client(settings.jwt_jwks_url).get_signing_key_from_jwt(token).key
        else:
            key = get_secret_string(settings.jwt_secret_name)
    except jwt.PyJWKClientConnectionError as exc:
        raise ApiError("authorization: signing keys unavailable", status=503) from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("authorization: invalid token") from exc
    try:
        claims = jwt.decode(
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
    for claim in TIME_CLAIMS:
        if claim in claims and not _is_json_number(claims[claim]):
            raise Unauthorized(f"authorization: the {claim} claim must be a number")
    if not is_id(claims.get("sub")):
        raise Unauthorized("authorization: token subject is not a user id")
    return claims


TIME_CLAIMS = ("exp", "nbf", "iat")


def _is_json_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@lru_cache(maxsize=4)
def _jwks_client(url: str):
    import jwt

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
