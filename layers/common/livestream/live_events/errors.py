"""Errors in the live platform's shape: ``{"error": true, "code": ..., "message": ...}``."""

from __future__ import annotations

from typing import Any, Optional

from livestream.errors import ApiError

# the platform's error codes: HTTP status × 1000 + a detail (400100 invalid, 400111 missing, 401121 unauthorized)
INVALID, MISSING, UNAUTHORIZED = 400100, 400111, 401121
OTHER_DETAIL = 901  # any other status: <status>901


class PlatformError(ApiError):
    """A 4xx whose body the live platform's clients read: its code and message."""

    def __init__(self, message: str, code: int = INVALID) -> None:
        super().__init__(message, status=code // 1000)
        self.code = code
        self.platform_message = message


def error_body(status: int, errors: list[str], exc: Optional[Exception]) -> dict[str, Any]:
    """Errors in the platform's shape; the message says which parameter was wrong."""
    if isinstance(exc, PlatformError):
        return {"error": True, "code": exc.code, "message": exc.platform_message}
    details = errors[1:] or errors
    code = {400: INVALID, 401: UNAUTHORIZED}.get(status, status * 1000 + OTHER_DETAIL)
    if status == 400 and all(d.endswith(": field required") for d in details):
        code = MISSING
    return {"error": True, "code": code, "message": "; ".join(details)}
