"""The request dispatcher every HTTP function runs on: one API Gateway (REST, proxy) event in, one
proxy result out.

Each function serves one endpoint and API Gateway does the routing, so this is not a router: it
matches the function's own route(s), validates the parameters with pydantic and calls the route's
function. It answers as Powertools' REST resolver did (the same path matching, query string and
header reading, validation error locations, ``multiValueHeaders`` result), without importing
Powertools' event handler: that package (every resolver, every event class, the OpenAPI machinery)
was the largest import of a cold start after botocore. ``tools/openapi.py`` still builds the OpenAPI
document with Powertools' resolver, from the routes recorded here (:attr:`App.routes`).

A route's parameters are declared as Powertools declares them: a path parameter by its name in the
path (``<id>``) or ``Annotated[str, Path(...)]``; ``Annotated[int, Query(ge=1)] = 1``;
``Annotated[str, Header(alias="Idempotency-Key")]``; the body as a parameter typed with a pydantic
model (or ``Annotated[Model, Body()]``). A route's parameters are validated by one pydantic model,
built on the route's first request; a route whose parameters are all ids in its path (``StreamId``,
``UserId``) checks them itself, with the same answers, and never loads pydantic: about a third of the
floor's time at a cold start (docs/performance.md).
"""

from __future__ import annotations

import base64
import inspect
import re
import sys
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Optional

from livestream.envelope import Response
from livestream.ids import ID_PATTERN, is_id

if typing.TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["App", "Body", "Event", "Header", "NotFoundError", "Param", "Path", "Query", "RequestValidationError", "Response", "Route"]

# ---------------------------------------------------------------- parameter markers


class Param:
    """Where a parameter is read from, and its pydantic ``Field`` options (constraints, ``alias``,
    ``description``): the route's model declares the field with them on its first request, and
    ``tools/openapi.py`` translates them into Powertools' markers."""

    __slots__ = ("location", "options")

    def __init__(self, location: str, **options: Any) -> None:
        self.location = location
        self.options = options

    @property
    def alias(self) -> Optional[str]:
        alias: Optional[str] = self.options.get("alias")
        return alias


def Path(**options: Any) -> Any:  # noqa: N802 - named as Powertools' marker
    return Param("path", **options)


def Query(**options: Any) -> Any:  # noqa: N802
    return Param("query", **options)


def Header(**options: Any) -> Any:  # noqa: N802
    """A request header, by ``alias`` or by the parameter's name with ``_`` as ``-`` (case-insensitive)."""
    return Param("header", **options)


def Body(**options: Any) -> Any:  # noqa: N802
    return Param("body", **options)


# ---------------------------------------------------------------- request and response


class Headers(dict[str, Any]):
    """Header names are case-insensitive: stored lowercased, looked up lowercased."""

    def __init__(self, data: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__((key.lower(), value) for key, value in (data or {}).items())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> Any:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


class Event:
    """The request being answered (``app.current_event``)."""

    def __init__(self, event: dict[str, Any], json_loads: Callable[[str], Any]) -> None:
        self.raw_event = event
        self._json_loads = json_loads

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw_event.get(key, default)

    @property
    def http_method(self) -> str:
        method: str = self.raw_event["httpMethod"]
        return method

    @property
    def path(self) -> str:
        path: str = self.raw_event["path"]
        return path

    @cached_property
    def headers(self) -> Headers:
        return Headers(self.raw_event.get("headers"))

    @property
    def multi_value_headers(self) -> Headers:
        return Headers(self.raw_event.get("multiValueHeaders"))

    @property
    def query_string_parameters(self) -> dict[str, str]:
        return self.raw_event.get("queryStringParameters") or {}

    @property
    def multi_value_query_string_parameters(self) -> dict[str, list[str]]:
        return self.raw_event.get("multiValueQueryStringParameters") or {}

    @property
    def body(self) -> Optional[str]:
        return self.raw_event.get("body")

    @property
    def is_base64_encoded(self) -> bool:
        return bool(self.raw_event.get("isBase64Encoded"))

    @cached_property
    def decoded_body(self) -> Optional[str]:
        body = self.body
        if self.is_base64_encoded and body:
            return base64.b64decode(body.encode()).decode()
        return body

    @cached_property
    def json_body(self) -> Any:
        return self._json_loads(self.decoded_body) if self.decoded_body else None


class RequestValidationError(Exception):
    """The request's parameters or body did not validate: pydantic's errors, each ``loc`` starting
    with where the value was read (``("query", "limit")``, ``("body", "title")``, ``("body",)``)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("request validation failed")
        self._errors = errors

    def errors(self) -> list[dict[str, Any]]:
        return self._errors


class NotFoundError(Exception):
    """No route of this function has the request's method and path."""


# ---------------------------------------------------------------- routes

_SAFE_URI = "-._~()'!*:@,;=+&$"
_UNSAFE_URI = r"%<> \[\]{}|^"  # API Gateway decodes these in the path
_PATH_PARAM = re.compile(r"(<\w+>)")


def _compile(rule: str) -> re.Pattern[str]:
    """Powertools' REST route pattern: ``<name>`` matches one segment; trailing slashes are ignored."""
    return re.compile("^{}/*$".format(_PATH_PARAM.sub(rf"(?P\1[{_SAFE_URI}{_UNSAFE_URI}\\w]+)", rule)))


@dataclass
class Field:
    """One parameter of a route: where it is read, under which name, and its pydantic declaration."""

    name: str
    location: str
    alias: str
    annotation: Any
    default: Any
    marker: Optional[Param] = None

    @property
    def embed(self) -> bool:
        return bool(self.marker is not None and self.marker.options.get("embed"))

    def declaration(self) -> tuple[Any, Any]:
        """The field of the route's model: its type and default, with the marker's constraints."""
        if self.marker is None:
            return self.annotation, self.default
        from pydantic import Field as FieldOf

        options = {k: v for k, v in self.marker.options.items() if k != "embed"}
        return self.annotation, FieldOf(self.default, **options)

    @property
    def is_path_id(self) -> bool:
        """A path parameter declared as an id (``StreamId``, ``UserId``): a string of ID_PATTERN."""
        base = typing.get_args(self.annotation)[0] if hasattr(self.annotation, "__metadata__") else self.annotation
        return self.location == "path" and base is str and self.marker is not None and self.marker.options.get("pattern") == ID_PATTERN


@dataclass
class Route:
    method: str
    path: str  # the rule as declared, with ``<name>`` parameters
    func: Callable[..., Response]
    options: dict[str, Any]  # summary, tags: for the OpenAPI document
    rule: re.Pattern[str] = field(init=False)
    fields: list[Field] = field(init=False)
    _model: Optional[type[BaseModel]] = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.path = self.path.rstrip("/")
        self.rule = _compile(self.path)
        self.fields = _fields(self.func, set(re.findall(r"<(\w+)>", self.path)))
        if sum(f.location == "body" for f in self.fields) > 1:
            raise TypeError(f"{self.func.__name__}: one body parameter at most")

    @property
    def model(self) -> type[BaseModel]:
        """The pydantic model of the route's parameters, by location (path, query, header, body) then
        as declared: pydantic reports errors in that order, as Powertools did."""
        if self._model is None:
            from pydantic import create_model

            order = ("path", "query", "header", "body")
            ordered = sorted(self.fields, key=lambda f: order.index(f.location))
            definitions: dict[str, Any] = {f.name: f.declaration() for f in ordered}
            self._model = create_model(f"{self.func.__name__}_request", **definitions)
        return self._model


def _fields(func: Callable[..., Any], path_names: set[str]) -> list[Field]:
    """The route function's parameters, where each is read, as Powertools' resolver classified them:
    by its marker; else a path parameter by name; else the body if it is a pydantic model; else a query
    parameter. A header's name is its ``alias``, or the parameter's name with ``_`` as ``-``."""
    hints = typing.get_type_hints(func, include_extras=True)
    fields = []
    for name, parameter in inspect.signature(func).parameters.items():
        annotation = hints.get(name, Any)
        marker = next((m for m in getattr(annotation, "__metadata__", ()) if isinstance(m, Param)), None)
        location = marker.location if marker else _location(name, annotation, path_names)
        alias = (marker.alias if marker else None) or (name.replace("_", "-") if location == "header" else name)
        default = ... if parameter.default is inspect.Parameter.empty else parameter.default
        fields.append(Field(name, location, alias, annotation, default, marker))
    return fields


def _location(name: str, annotation: Any, path_names: set[str]) -> str:
    if name in path_names:
        return "path"
    return "body" if _is_model(annotation) else "query"


def _is_model(annotation: Any) -> bool:
    """A pydantic model (if one is declared, pydantic is loaded already: nothing is imported here)."""
    base = typing.get_args(annotation)[0] if hasattr(annotation, "__metadata__") else annotation
    pydantic = sys.modules.get("pydantic.main")
    return pydantic is not None and isinstance(base, type) and issubclass(base, pydantic.BaseModel)


# ---------------------------------------------------------------- the app

ErrorHandler = Callable[[Any], Response]
Handler = Callable[..., Response]


class App:
    """The routes of one function and how it answers: ``@app.get(path, summary=..., tags=...)``,
    ``app.resolve(event, context)``; ``app.current_event``, ``app.lambda_context`` and ``app.context``
    (cleared after each request) during a request."""

    def __init__(self, json_loads: Callable[[str], Any], read_body: Callable[[App], Any]) -> None:
        self.routes: list[Route] = []
        self.context: dict[str, Any] = {}
        self.current_event: Event = Event({}, json_loads)
        self.lambda_context: Any = None
        self._json_loads = json_loads
        self._read_body = read_body
        self._handlers: dict[type[BaseException], ErrorHandler] = {}
        self._not_found: Optional[ErrorHandler] = None

    def route(self, path: str, method: str, **options: Any) -> Callable[[Handler], Handler]:
        def register(func: Handler) -> Handler:
            self.routes.append(Route(method.upper(), path, func, options))
            return func

        return register

    def get(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route(path, "GET", **options)

    def post(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route(path, "POST", **options)

    def put(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route(path, "PUT", **options)

    def delete(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route(path, "DELETE", **options)

    def exception_handler(self, exc_class: type[Exception] | list[type[Exception]]) -> Callable[[ErrorHandler], ErrorHandler]:
        """Register the answer to an exception (and its subclasses, the most specific handler first)."""

        def register(func: ErrorHandler) -> ErrorHandler:
            for cls in exc_class if isinstance(exc_class, list) else [exc_class]:
                self._handlers[cls] = func
            return func

        return register

    def not_found(self, func: ErrorHandler) -> ErrorHandler:
        """The answer when no route has the request's method and path."""
        self._not_found = func
        return func

    def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.current_event = Event(event, self._json_loads)
        self.lambda_context = context
        try:
            response = self._answer()
        finally:
            self.context.clear()
        return response.to_proxy()

    def _answer(self) -> Response:
        event = self.current_event
        method, path = event.http_method.upper(), event.path
        try:
            for route in self.routes:
                match = route.rule.match(path) if route.method == method else None
                if match:
                    return route.func(**self._arguments(route, match.groupdict()))
            if self._not_found is None:
                raise NotFoundError(f"{method} {path}")
            return self._not_found(NotFoundError(f"{method} {path}"))
        except Exception as exc:
            handler = next((self._handlers[cls] for cls in type(exc).__mro__ if cls in self._handlers), None)
            if handler is None:
                raise
            return handler(exc)

    def _arguments(self, route: Route, path_args: dict[str, str]) -> dict[str, Any]:
        """The route's arguments, validated: pydantic's errors raise :class:`RequestValidationError`
        (a body that cannot be read raises its own error first, as Powertools read it first)."""
        event = self.current_event
        sources: dict[str, Mapping[str, Any]] = {
            "path": path_args,
            "query": _query_values(event, route),
            "header": _header_values(event, route),
        }
        if all(param.is_path_id for param in route.fields):  # none, or ids only
            return _path_ids(route, path_args)
        data: dict[str, Any] = {}
        for param in route.fields:
            value = _body_value(param, self._read_body(self)) if param.location == "body" else sources[param.location].get(param.alias)
            if value is not None:
                data[param.alias] = value
        from pydantic import ValidationError

        try:
            validated = route.model.model_validate(data, from_attributes=True)
        except ValidationError as exc:
            locations = {param.alias: param for param in route.fields}
            raise RequestValidationError([_located(err, locations) for err in exc.errors()]) from None
        return {param.name: getattr(validated, param.name) for param in route.fields}


def _path_ids(route: Route, path_args: dict[str, str]) -> dict[str, Any]:
    """The arguments of a route whose parameters are all ids in its path, checked without pydantic:
    a malformed one fails as pydantic's pattern check would (the same error, in declaration order)."""
    message = f"String should match pattern '{ID_PATTERN}'"
    errors = [
        {"type": "string_pattern_mismatch", "loc": ("path", f.alias), "msg": message, "input": path_args[f.alias], "ctx": {"pattern": ID_PATTERN}}
        for f in route.fields
        if not is_id(path_args[f.alias])
    ]
    if errors:
        raise RequestValidationError(errors)
    return {f.name: path_args[f.alias] for f in route.fields}


def _located(err: Any, fields: dict[str, Field]) -> dict[str, Any]:
    """A pydantic error of the route's model, its ``loc`` starting where the value was read."""
    name, *rest = err["loc"]
    param = fields[str(name)]
    if param.location == "body" and not param.embed:
        prefix: tuple[Any, ...] = ("body",)
    else:
        prefix = (param.location, param.alias)
    located = {**err, "loc": (*prefix, *rest)}
    if err["type"] == "missing":
        located["input"] = None
    return located


def _body_value(param: Field, body: Any) -> Any:
    """The body (or, embedded, its member): a list sent for a single model is read as its first item,
    as Powertools read it."""
    if param.embed:
        body = body.get(param.alias) if isinstance(body, dict) else None
    if isinstance(body, list) and body and typing.get_origin(param.annotation) not in (list, tuple, set):
        return body[0]
    return body


def _query_values(event: Event, route: Route) -> dict[str, Any]:
    """Each query parameter's value as Powertools' REST resolver read it, a single value as sent (commas
    included); a name repeated in ``multiValueQueryStringParameters`` is refused (every parameter takes one)."""
    multi = event.multi_value_query_string_parameters
    single = {name: value.split(",") for name, value in event.query_string_parameters.items()}
    merged = {**single, **multi}
    wanted = [f for f in route.fields if f.location == "query" and f.alias in merged]
    _refuse_repeated([f.alias for f in wanted if len(multi.get(f.alias) or ()) > 1], multi)
    return {f.alias: _scalar(merged[f.alias], f.alias in multi) for f in wanted}


def _refuse_repeated(names: list[str], multi: dict[str, list[str]]) -> None:
    """Every query parameter of the API takes one value: one sent twice is refused as such (pydantic would
    say a list "must be a string" or "a whole number")."""
    if names:
        errors = [{"type": "repeated", "loc": ("query", name), "msg": "must be sent once", "input": multi[name]} for name in names]
        raise RequestValidationError(errors)


def _header_values(event: Event, route: Route) -> dict[str, Any]:
    """Each header parameter's value: from ``multiValueHeaders`` when the event has them (a header sent
    twice is a list), else from ``headers``; names case-insensitive."""
    multi = event.multi_value_headers
    source = multi or event.headers
    values = {}
    for f in route.fields:
        if f.location == "header" and source.get(f.alias) is not None:
            values[f.alias] = _scalar(source[f.alias], f.alias in multi)
    return values


def _scalar(value: Any, repeated: bool) -> Any:
    if isinstance(value, list) and len(value) > 1 and not repeated and all(isinstance(item, str) for item in value):
        return ",".join(value)  # a single value that held commas
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value
