"""The Powertools REST resolver every HTTP function uses, answering every outcome in the envelope.

- request validation errors → 400 with ``"<field>: <message>"`` details
- unsupported content type → 415
- :class:`~livestream.errors.ApiError` → its own status
- Powertools ``ServiceError`` → its own status
- anything else → 500, logged with its trace, nothing leaked to the client
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Annotated, Any, Literal, Optional, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel, ValidationError

from livestream import snapstart
from livestream.auth import caller_id, require_api_token
from livestream.envelope import JSON, body, dumps
from livestream.errors import CANONICAL_MESSAGES, ApiError, BadRequest
from livestream.ids import ID_PATTERN
from livestream.observability import Handler, instrument, logger

M = TypeVar("M", bound=BaseModel)


ErrorBody = Callable[[int, list[str], Optional[Exception]], dict[str, Any]]


def envelope_error(status: int, errors: list[str], exc: Optional[Exception]) -> dict[str, Any]:
    return body(status, None, errors)


class Resolver(APIGatewayRestResolver):
    """Powertools' REST resolver with validation, answering every error with ``error_body``."""

    def __init__(self, error_body: ErrorBody) -> None:
        super().__init__(enable_validation=True)
        self.error_body = error_body

    def fail(self, status: int, errors: list[str], exc: Optional[Exception] = None, headers: Optional[dict[str, str]] = None) -> Response:
        return Response(status_code=status, content_type=JSON, body=dumps(self.error_body(status, errors, exc)), headers=headers)

    def fail_proxy(self, status: int, errors: list[str], exc: Optional[Exception] = None) -> dict[str, Any]:
        """The same answer as a Lambda proxy result, for errors raised before routing."""
        return {
            "statusCode": status,
            "headers": {"Content-Type": JSON},
            "body": dumps(self.error_body(status, errors, exc)),
            "isBase64Encoded": False,
        }


def create_app(error_body: ErrorBody = envelope_error) -> Resolver:
    app = Resolver(error_body)

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported(exc: RequestUnsupportedContentType) -> Response:
        content_type = app.current_event.headers.get("content-type") or "none"
        return app.fail(415, [CANONICAL_MESSAGES[415], f"content-type: {content_type.split(';')[0]} is not accepted"], exc)

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        return app.fail(400, [CANONICAL_MESSAGES[400], *validation_details(exc.errors())], exc)

    @app.exception_handler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return app.fail(exc.status, exc.errors, exc)

    @app.exception_handler(ServiceError)
    def _service_error(exc: ServiceError) -> Response:
        return app.fail(exc.status_code, [CANONICAL_MESSAGES.get(exc.status_code, CANONICAL_MESSAGES[500])], exc)

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error")
        return app.fail(500, [CANONICAL_MESSAGES[500]])

    @app.not_found
    def _not_found(exc: Exception) -> Response:
        event = app.current_event
        return app.fail(404, [CANONICAL_MESSAGES[404], f"{event.http_method} {event.path}: no such route"])

    return app


Auth = Literal["user", "optional", "api_token", "none"]


def handler_for(app: Resolver, *, auth: Auth) -> Handler:
    """The Lambda entry point of a function whose routes live on ``app``.

    Each function serves one endpoint, so authentication is the function's: it runs before
    request validation (a client without credentials learns 401 before 400) and leaves the
    verified user id in ``app.context["caller"]`` (``None`` for anonymous callers).
    """

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            _normalise_content_type(event)
            headers = event.get("headers") or {}
            if auth == "api_token":
                require_api_token(headers)
                app.append_context(caller=None)
            elif auth in ("user", "optional"):
                app.append_context(caller=caller_id(headers, required=auth == "user"))
        except ApiError as exc:
            app.clear_context()
            return app.fail_proxy(exc.status, exc.errors, exc)
        except Exception:
            app.clear_context()
            logger.exception("unhandled error before routing")
            return app.fail_proxy(500, [CANONICAL_MESSAGES[500]])
        return app.resolve(event, context)

    snapstart.register(app, auth=auth)  # SnapStart only: warm this function's route before the snapshot
    return instrument(handler)


def caller(app: Resolver) -> str:
    """The authenticated caller of a function declared with ``auth="user"``."""
    return app.context["caller"]


def optional_caller(app: Resolver) -> Optional[str]:
    return app.context.get("caller")


def parse(model: type[M], data: Any) -> M:
    """Validate ``data`` against a layer model; its errors become a 400 naming each field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest(*validation_details(exc.errors())) from None


StreamId = Annotated[str, Path(pattern=ID_PATTERN, description="Stream id: 24 lowercase hex characters")]
UserId = Annotated[str, Path(pattern=ID_PATTERN, description="User id: 24 lowercase hex characters")]


def _normalise_content_type(event: dict[str, Any]) -> None:
    """Media types are case-insensitive (RFC 9110) but Powertools compares them as written: lowercase
    the media type, keep its parameters (a boundary is case-sensitive).

    API Gateway delivers binary media types base64-encoded; a multipart body that arrives as text
    (a test client, a stage without the binary media type) is re-encoded so that non-Latin-1 text
    survives the parser. A multipart content type without a boundary cannot be parsed: 400."""
    headers = event.get("headers") or {}
    name = next((k for k in headers if k.lower() == "content-type"), None)
    if name is None or not headers[name]:
        return
    media_type, sep, params = headers[name].partition(";")
    content_type = headers[name] = media_type.strip().lower() + sep + params
    if event.get("multiValueHeaders", {}).get(name):
        event["multiValueHeaders"][name] = [content_type]
    if not content_type.startswith("multipart/form-data"):
        return
    if "boundary=" not in content_type:
        raise BadRequest("content-type: multipart/form-data needs a boundary")
    if event.get("body") is not None and not event.get("isBase64Encoded"):
        event["body"] = base64.b64encode(event["body"].encode("utf-8")).decode("ascii")
        event["isBase64Encoded"] = True


_MESSAGES = {
    "missing": "field required",
    "string_too_short": "must be at least {min_length} characters",
    "string_too_long": "must be at most {max_length} characters",
    "greater_than_equal": "must be greater than or equal to {ge}",
    "greater_than": "must be greater than {gt}",
    "less_than_equal": "must be less than or equal to {le}",
    "less_than": "must be less than {lt}",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_type": "must be a whole number",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "decimal_parsing": "must be a decimal number",
    "decimal_max_places": "must have at most {decimal_places} decimals",
    "datetime_parsing": "must be an ISO 8601 date-time",
    "datetime_from_date_parsing": "must be an ISO 8601 date-time",
    "datetime_type": "must be an ISO 8601 date-time",
    "json_invalid": "must be valid JSON",
    "literal_error": "must be one of {expected}",
    "enum": "must be one of {expected}",
    "string_pattern_mismatch": "has an invalid format",
    "id_pattern_mismatch": "must be a 24-character lowercase hex id",
    "too_long": "must have at most {max_length} items",
    "bool_parsing": "must be a boolean",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "extra_forbidden": "is not a known field",
}


def validation_details(errors: list[dict[str, Any]]) -> list[str]:
    """``"<field>: <message>"`` for each pydantic / Powertools validation error."""
    details: list[str] = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", ()) if part not in ("body", "query", "path", "header", "form", "file")]
        if err.get("type") == "json_invalid" and len(err.get("loc", ())) <= 2:
            field = "body"
            message = "must be valid JSON"
        elif not loc and err.get("type") == "value_error":
            # a cross-field rule (models._FieldError) already names its field
            details.append(_plain(err.get("msg", "")))
            continue
        else:
            field = ".".join(loc) or "body"
            kind = err.get("type", "")
            if kind == "string_pattern_mismatch" and (err.get("ctx") or {}).get("pattern") == ID_PATTERN:
                kind = "id_pattern_mismatch"
            template = _MESSAGES.get(kind)
            try:
                message = template.format(**(err.get("ctx") or {})) if template else _plain(err.get("msg", "is invalid"))
            except (KeyError, IndexError):
                message = _plain(err.get("msg", "is invalid"))
        detail = f"{field}: {message}"
        if detail not in details:
            details.append(detail)
    return details


def _plain(msg: str) -> str:
    msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return msg[:1].lower() + msg[1:]
