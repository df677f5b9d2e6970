"""The API's errors: one exception type carrying the HTTP status and the field-named details.

``errors[0]`` of every error envelope is the canonical message of its status (docs/api.md);
the details that follow name the field that was wrong.
"""

from __future__ import annotations

CANONICAL_MESSAGES: dict[int, str] = {
    400: "Validation failed",
    401: "Authentication required",
    403: "Insufficient permissions",
    404: "Resource not found",
    405: "Method not allowed",
    409: "Resource already exists or cannot be changed in its current state",
    413: "Payload too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class ApiError(Exception):
    """An error answered to the client as ``status`` with ``details`` after the canonical message."""

    status = 500

    def __init__(self, *details: str, status: int | None = None) -> None:
        if status is not None:
            self.status = status
        self.details = [d for d in details if d]
        super().__init__(self.message, *self.details)

    @property
    def message(self) -> str:
        return CANONICAL_MESSAGES.get(self.status, CANONICAL_MESSAGES[500])

    @property
    def errors(self) -> list[str]:
        return [self.message, *self.details]


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class PayloadTooLarge(ApiError):
    status = 413


class UnsupportedMediaType(ApiError):
    status = 415


def field_error(field: str, message: str) -> BadRequest:
    return BadRequest(f"{field}: {message}")
