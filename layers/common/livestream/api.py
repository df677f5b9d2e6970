"""The dispatcher every HTTP function uses (:mod:`livestream.dispatch`), answering every outcome in
the envelope.

- request validation errors → 400 with ``"<field>: <message>"`` details
- unsupported content type → 415 (routes with a body model take JSON only; create reads its own
  multipart or JSON body with :func:`request_fields`)
- JSON bodies are parsed strictly before any model sees them (:func:`strict_json`): valid UTF-8,
  at most 32 levels deep, numbers finite and within ±(2**53 − 1), no NaN/Infinity
- :class:`~livestream.errors.ApiError` → its own status
- a dependency that throttled or failed (:func:`~livestream.errors.retry_after`) → 503 with ``Retry-After``
- anything else → 500, logged with its trace, nothing leaked to the client
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal, Optional, TypeVar

from livestream import snapstart
from livestream.auth import caller_id, require_api_token
from livestream.dispatch import App, Path, RequestValidationError
from livestream.dispatch import Body as Body  # re-exported: the markers and Response the functions use
from livestream.dispatch import Header as Header
from livestream.dispatch import Query as Query
from livestream.envelope import JSON, body, dumps
from livestream.envelope import Response as Response
from livestream.errors import CANONICAL_MESSAGES, RETRY_AFTER_UNAVAILABLE, ApiError, BadRequest, ServiceUnavailable, UnsupportedMediaType, retry_after
from livestream.ids import ID_PATTERN
from livestream.observability import Handler, instrument, logger

if TYPE_CHECKING:  # the request types' module is loaded by the functions that validate a body
    from livestream.schemas import Validated

V = TypeVar("V", bound="Validated")


ErrorBody = Callable[[int, list[str], Optional[Exception]], dict[str, Any]]


def envelope_error(status: int, errors: list[str], exc: Optional[Exception]) -> dict[str, Any]:
    return body(status, None, errors)


class Resolver(App):
    """The function's dispatcher (:mod:`livestream.dispatch`), answering every error with ``error_body``."""

    def __init__(self, error_body: ErrorBody) -> None:
        super().__init__(json_loads=strict_json, read_body=_json_only_body)
        self.error_body = error_body

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        """Dispatch the request, after a JSON body has been made valid UTF-8 text (else 400)."""
        event = dict(event)
        try:
            _normalise_json_body(event)
        except ApiError as exc:
            return self.fail_proxy(exc.status, exc.errors, exc)
        return super().resolve(event, context)

    def fail(self, status: int, errors: list[str], exc: Optional[Exception] = None, headers: Optional[dict[str, str]] = None) -> Response:
        return Response(status_code=status, content_type=JSON, body=dumps(self.error_body(status, _printable(errors), exc)), headers=headers)

    def fail_proxy(self, status: int, errors: list[str], exc: Optional[Exception] = None, headers: Optional[dict[str, str]] = None) -> dict[str, Any]:
        """The same answer as a Lambda proxy result, for errors raised before routing."""
        return {
            "statusCode": status,
            "headers": {"Content-Type": JSON, **(headers or {})},
            "body": dumps(self.error_body(status, _printable(errors), exc)),
            "isBase64Encoded": False,
        }


def _printable(errors: list[str]) -> list[str]:
    """Details may quote what the client sent: lone surrogates cannot be encoded as UTF-8 (the answer
    would fail to serialise), so they are escaped; a detail is at most 300 characters."""
    safe = []
    for error in errors:
        text = error.encode("utf-8", "backslashreplace").decode("utf-8")
        safe.append(text if len(text) <= 300 else text[:299] + "…")
    return safe


def _json_only_body(app: App) -> Any:
    """The body of a route with a body model: JSON only (also without a content type), parsed by
    :func:`strict_json`; any other media type is 415 (create parses its own body, strictly)."""
    content_type = app.current_event.headers.get("content-type", "").strip()
    if not content_type or _media_type(content_type) == JSON:
        return app.current_event.json_body
    raise UnsupportedMediaType(f"content-type: {_media_type(content_type)} is not accepted (send application/json)")


def create_app(error_body: ErrorBody = envelope_error) -> Resolver:
    app = Resolver(error_body)

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        return app.fail(400, [CANONICAL_MESSAGES[400], *validation_details(exc.errors())], exc)

    @app.exception_handler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return app.fail(exc.status, exc.errors, exc, _retry_headers(exc))

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        unavailable = dependency_failure(exc)
        if unavailable is not None:
            return app.fail(503, unavailable.errors, unavailable, _retry_headers(unavailable))
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
                app.context["caller"] = None
            elif auth in ("user", "optional"):
                app.context["caller"] = caller_id(headers, required=auth == "user")
        except ApiError as exc:
            app.context.clear()
            return app.fail_proxy(exc.status, exc.errors, exc, _retry_headers(exc))
        except Exception as exc:
            app.context.clear()
            unavailable = dependency_failure(exc)
            if unavailable is not None:
                return app.fail_proxy(503, unavailable.errors, unavailable, _retry_headers(unavailable))
            logger.exception("unhandled error before routing")
            return app.fail_proxy(500, [CANONICAL_MESSAGES[500]])
        return app.resolve(event, context)

    snapstart.register(app, auth=auth)  # SnapStart only: warm this function's route before the snapshot
    return instrument(handler)


def dependency_failure(exc: BaseException) -> Optional[ServiceUnavailable]:
    """A 503 for a dependency that throttled or failed (logged without its message: it may quote a
    request), ``None`` for anything else."""
    seconds = retry_after(exc)
    if seconds is None:
        return None
    logger.warning("dependency unavailable", extra={"error": type(exc).__name__, "retry_after": seconds})
    return ServiceUnavailable(retry_after=seconds)


def _retry_headers(exc: ApiError) -> Optional[dict[str, str]]:
    if exc.status != 503:
        return None
    return {"Retry-After": str(getattr(exc, "retry_after", RETRY_AFTER_UNAVAILABLE))}


def caller(app: Resolver) -> str:
    """The authenticated caller of a function declared with ``auth="user"``."""
    user: str = app.context["caller"]
    return user


def optional_caller(app: Resolver) -> Optional[str]:
    return app.context.get("caller")


def parse(model: type[V], data: Any, **context: Any) -> V:
    """Validate ``data`` against a request type (:class:`~livestream.schemas.Validated`); its errors
    become a 400 naming each field. ``context`` reaches the type's validators (``form=True``: the values
    are multipart text)."""
    from pydantic_core import ValidationError

    try:
        return model.validate(data, context=context or None)
    except ValidationError as exc:
        raise BadRequest(*validation_details(exc.errors())) from None


StreamId = Annotated[str, Path(pattern=ID_PATTERN, description="Stream id: 24 lowercase hex characters")]
UserId = Annotated[str, Path(pattern=ID_PATTERN, description="User id: 24 lowercase hex characters")]


# ---------------------------------------------------------------- strict JSON

MAX_JSON_DEPTH = 32
MAX_SAFE_INTEGER = 2**53 - 1


def strict_json(text: str) -> Any:
    """Parse a JSON document strictly: nesting deeper than MAX_JSON_DEPTH, NaN/Infinity, and numbers
    that overflow or lie outside ±MAX_SAFE_INTEGER (the range JSON numbers keep exactly everywhere)
    are 400. Parsing cannot get expensive: the C parser stops at the interpreter's recursion limit
    (RecursionError, a 400 too), number literals are checked before they are converted (a
    5,000-digit integer is refused by its length), and the depth is then walked without recursion."""
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_int=_bounded_int, parse_float=_bounded_float)
    except _NumberOutOfRange as exc:
        raise BadRequest(f"body: {exc}") from None
    except RecursionError:
        raise BadRequest(f"body: nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError:  # JSONDecodeError is a ValueError
        raise BadRequest("body: must be valid JSON") from None
    if isinstance(value, dict | list) and text.count("[") + text.count("{") > MAX_JSON_DEPTH:
        _check_depth(value)
    return value


class _NumberOutOfRange(Exception):
    pass


def _check_depth(value: Any) -> None:
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > MAX_JSON_DEPTH:
                    raise BadRequest(f"body: nested deeper than {MAX_JSON_DEPTH} levels")
                pending.append((child, depth + 1))


def _no_constant(name: str) -> Any:
    raise _NumberOutOfRange(f"{name} is not a JSON number")


def _bounded_int(digits: str) -> int:
    if len(digits) > 17 or abs(value := int(digits)) > MAX_SAFE_INTEGER:
        raise _NumberOutOfRange(f"the number {digits[:20]} is out of range (at most ±{MAX_SAFE_INTEGER})")
    return value


def _bounded_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value) or abs(value) > MAX_SAFE_INTEGER:
        raise _NumberOutOfRange(f"the number {literal[:20]} is out of range (at most ±{MAX_SAFE_INTEGER})")
    return value


def _media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def _raw_body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("body: not valid base64") from None
    return body.encode("utf-8", "surrogatepass")


def _normalise_json_body(event: dict[str, Any]) -> None:
    """A JSON body (or one without a content type, which is read as JSON) reaches the parser as text
    that is valid UTF-8: a base64-delivered body is decoded strictly here (400 if it is not UTF-8)."""
    if not event.get("body"):
        return
    headers = event.get("headers") or {}
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "") or ""
    if content_type and _media_type(content_type) != JSON:
        return
    raw = _raw_body(event)
    try:
        event["body"] = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("body: must be valid UTF-8") from None
    event["isBase64Encoded"] = False


# ---------------------------------------------------------------- create's body: multipart or JSON

MAX_FORM_PARTS = 32


def request_fields(app: Resolver, *, files: frozenset[str]) -> tuple[dict[str, Any], dict[str, bytes], bool]:
    """The fields of a ``multipart/form-data`` or ``application/json`` body: ``(fields, files, is_form)``.

    Multipart is parsed by the ``multipart`` library in strict mode: the declared boundary must open
    the body and the closing delimiter must end it, else 400. A field may be sent once; text fields
    must be UTF-8; the parts named in ``files`` are returned as bytes (an empty one is absent). JSON
    must be an object (parsed by :func:`strict_json`). Any other media type is 415."""
    event = app.current_event
    content_type = event.headers.get("content-type") or ""
    media_type = _media_type(content_type)
    if media_type == "multipart/form-data":
        return (*_multipart_fields(_raw_body(event.raw_event), content_type, files), True)
    if media_type in (JSON, ""):
        body = event.decoded_body
        data = strict_json(body) if body else {}
        if not isinstance(data, dict):
            raise BadRequest("body: must be a JSON object")
        return data, {}, False
    raise UnsupportedMediaType(f"content-type: {media_type} is not accepted (send multipart/form-data or application/json)")


def _multipart_fields(body: bytes, content_type: str, files: frozenset[str]) -> tuple[dict[str, Any], dict[str, bytes]]:
    import io

    import multipart

    boundary = multipart.parse_options_header(content_type)[1].get("boundary")
    if not boundary:
        raise BadRequest("content-type: multipart/form-data needs a boundary")
    fields: dict[str, Any] = {}
    found: dict[str, bytes] = {}
    seen: set[str] = set()
    try:
        parser = multipart.MultipartParser(
            io.BytesIO(body),
            boundary,
            content_length=len(body),
            charset="utf-8",
            strict=True,
            part_limit=MAX_FORM_PARTS,
            spool_limit=len(body) + 1,  # the body is in memory already: no temporary files
            memory_limit=len(body) + 1,
        )
        parts = list(parser)
    except multipart.MultipartError as exc:
        reason = str(exc.args[0]) if exc.args else "malformed"
        raise BadRequest(f"body: not a multipart/form-data body with the declared boundary ({reason})") from None
    for part in parts:
        name = part.name
        if name in seen:
            raise BadRequest(f"{name}: must be sent once")
        seen.add(name)
        if name in files:
            if part.raw:
                found[name] = part.raw
            continue
        try:
            fields[name] = part.raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest(f"{name}: must be valid UTF-8") from None
    return fields, found


def _normalise_content_type(event: dict[str, Any]) -> None:
    """Media types are case-insensitive (RFC 9110): lowercase the media type, keep its parameters (a
    boundary is case-sensitive).

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
    if content_type.startswith("multipart/form-data"):
        _multipart_as_base64(event, content_type)


def _multipart_as_base64(event: dict[str, Any], content_type: str) -> None:
    if "boundary=" not in content_type:
        raise BadRequest("content-type: multipart/form-data needs a boundary")
    if event.get("body") is not None and not event.get("isBase64Encoded"):
        event["body"] = base64.b64encode(event["body"].encode("utf-8")).decode("ascii")
        event["isBase64Encoded"] = True


_MESSAGES = {
    "missing": "field required",
    "repeated": "must be sent once",  # a query parameter sent twice (livestream.dispatch)
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
    "too_short": "must have at least {min_length} items",
    "too_long": "must have at most {max_length} items",
    "string_unicode": "must be valid Unicode text (it holds a lone surrogate)",
    "bool_parsing": "must be a boolean",
    "model_attributes_type": "must be an object",
    "model_type": "must be an object",
    "dict_type": "must be an object",
    "extra_forbidden": "is not a known field",
}


def validation_details(errors: Sequence[Mapping[str, Any]]) -> list[str]:
    """``"<field>: <message>"`` for each pydantic validation error (a request's: ``loc`` starts with
    where the value was read, see :class:`~livestream.dispatch.RequestValidationError`)."""
    details: list[str] = []
    for err in errors:
        detail = _detail(err)
        if detail not in details:
            details.append(detail)
    return details


_LOCATIONS = ("body", "query", "path", "header", "form", "file")


def _detail(err: Mapping[str, Any]) -> str:
    loc = [str(part) for part in err.get("loc", ()) if part not in _LOCATIONS and part != ""]  # "": an empty map key
    if err.get("type") == "json_invalid" and len(err.get("loc", ())) <= 2:
        return "body: must be valid JSON"
    if not loc and err.get("type") == "value_error":
        return _plain(err.get("msg", ""))  # a cross-field rule (a request type's ``check``) already names its field
    return f"{'.'.join(loc) or 'body'}: {_message(err)}"


# a length bound pydantic applies after a text type's own validators is reported as a collection's
_TEXT_LENGTHS = {"too_short": "string_too_short", "too_long": "string_too_long"}


def _message(err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    context = err.get("ctx") or {}
    if kind == "string_pattern_mismatch" and context.get("pattern") == ID_PATTERN:
        kind = "id_pattern_mismatch"
    if isinstance(err.get("input"), str):
        kind = _TEXT_LENGTHS.get(kind, kind)
    if kind == "string_too_short" and context.get("min_length") == 1:
        return "must not be empty"
    template = _MESSAGES.get(kind)
    try:
        return template.format(**context) if template else _plain(err.get("msg", "is invalid"))
    except (KeyError, IndexError):
        return _plain(err.get("msg", "is invalid"))


def _plain(msg: str) -> str:
    msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return msg[:1].lower() + msg[1:]
