"""The API's errors: one exception type carrying the HTTP status and the field-named details.

``errors[0]`` of every error envelope is the canonical message of its status (docs/api.md);
the details that follow name the field that was wrong.
"""

from __future__ import annotations

from typing import Any

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


# Seconds a client should wait before retrying a 503: throttling clears fast, an outage less so.
RETRY_AFTER_THROTTLED = 1
RETRY_AFTER_UNAVAILABLE = 5


class ServiceUnavailable(ApiError):
    """A dependency (DynamoDB, S3, Secrets Manager, SQS) throttled or failed: 503 with ``Retry-After``."""

    status = 503

    def __init__(self, *details: str, retry_after: int = RETRY_AFTER_UNAVAILABLE) -> None:
        super().__init__(*details)
        self.retry_after = retry_after


THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ProvisionedThroughputExceeded",
        "ThrottlingException",
        "ThrottlingError",
        "Throttling",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "SlowDown",
        "TransactionConflict",
        "TransactionInProgressException",
    }
)
UNAVAILABLE_CODES = frozenset(
    {
        "InternalServerError",
        "InternalFailure",
        "InternalError",
        "InternalServiceError",
        "InternalServiceErrorException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
    }
)


def retry_after(exc: BaseException) -> int | None:
    """Seconds for ``Retry-After`` when ``exc`` says a dependency throttled or failed, else ``None``
    (then it is a fault of ours: a 500).

    Dependency failures: a botocore ``ClientError`` with a throttling or unavailability code or an
    HTTP 5xx status (a cancelled transaction counts by its items' reasons), a connection-level
    botocore error (endpoint unreachable, timeouts, connection closed), a Secrets Manager read that
    failed (Powertools ``GetParameterError``), and our own
    :class:`ServiceUnavailable`. Other client errors (validation, access denied, missing table) are
    deployment or code faults: retrying does not help, so they stay 500.
    """
    if isinstance(exc, ApiError):
        return RETRY_AFTER_UNAVAILABLE if exc.status == 503 else None
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        return _client_error_retry(dict(exc.response or {}))
    if isinstance(exc, BotoCoreError):
        # unreachable endpoint, timeouts, closed connections, broken responses; not our own misuse (bad parameters)
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import HTTPClientError

        return RETRY_AFTER_UNAVAILABLE if isinstance(exc, BotoConnectionError | HTTPClientError) else None
    kind = type(exc).__name__
    if kind == "GetParameterError" and type(exc).__module__.startswith("aws_lambda_powertools"):
        return RETRY_AFTER_UNAVAILABLE
    return None


def _client_error_retry(response: dict[str, Any]) -> int | None:
    """A ClientError's answer: throttled, unavailable (by its code, a cancelled transaction's items'
    reasons, or an HTTP 5xx), or neither."""
    codes = {(response.get("Error") or {}).get("Code", ""), *_cancellation_reasons(response)}
    if codes & THROTTLING_CODES:
        return RETRY_AFTER_THROTTLED
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0
    if codes & UNAVAILABLE_CODES or status >= 500:
        return RETRY_AFTER_UNAVAILABLE
    return None


def _cancellation_reasons(response: dict[str, Any]) -> set[str]:
    """The codes of a cancelled transaction's items (``"None"``: an item that did not fail)."""
    return {r["Code"] for r in response.get("CancellationReasons") or [] if r.get("Code") not in (None, "None")}
