"""The request dispatcher every HTTP function runs on: one API Gateway (REST, proxy) event in, one
proxy result out.

Each function serves one endpoint and API Gateway does the routing, so this is not a router: it
matches the function's own route(s), validates the parameters with pydantic-core and calls the
route's function. It answers as Powertools' REST resolver did (the same path matching, query string
and header reading, validation error locations, ``multiValueHeaders`` result), without importing
Powertools' event handler: that package (every resolver, every event class, the OpenAPI machinery)
was the largest import of a cold start after botocore. ``tools/openapi.py`` still builds the OpenAPI
document with Powertools' resolver, from the routes recorded here (:attr:`App.routes`).

A route's parameters are declared as Powertools declares them, from a closed set checked when the
route is registered (anything else is a TypeError naming the parameter): a path parameter by its name
in the path (``<id>``) or ``Annotated[str, Path(pattern=...)]`` (``StreamId``, ``UserId``); a query
parameter as ``Annotated[QueryInt, Query(ge=1)] = 1`` or ``Optional[QueryText]`` with the marker's
``ge``/``le``/``min_length``/``max_length`` (:mod:`livestream.queries`); a header as ``str`` or
``Optional[str]`` with ``Header(alias=...)``; the body as a parameter typed with a
:class:`~livestream.schemas.Validated` request type (or ``Annotated[Type, Body()]``, ``embed`` too).
A route's parameters are validated by one pydantic-core ``SchemaValidator`` translated from those
declarations and built on the route's first request: pydantic's Python package (~40 ms to import, then
~20 ms per model) never loads, pydantic-core (~12 ms) does. A route whose parameters are all ids in its
path checks them itself, with the same answers, and loads neither (docs/performance.md).
"""

from __future__ import annotations

import base64
import inspect
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Optional

from livestream.envelope import Response
from livestream.ids import ID_PATTERN, is_id

__all__ = ["App", "Body", "Event", "Header", "NotFoundError", "Param", "Path", "Query", "RequestValidationError", "Response", "Route"]

# ---------------------------------------------------------------- parameter markers


class Param:
    """Where a parameter is read from, and its options as pydantic's ``Field`` takes them: bounds
    (``ge``, ``le``, ``min_length``, ``max_length``, ``pattern``), checked by the route's validator;
    ``alias``; ``description`` and ``examples``, read by ``tools/openapi.py``, which translates the
    markers into Powertools'."""

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
    """The request's parameters or body did not validate: pydantic-core's errors, each ``loc`` starting
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


# the ``Query(...)``/``Header(...)``/``Path(...)`` options checked at run time, by the kind of value they bound
_BOUNDS = {"int": {"ge", "gt", "le", "lt"}, "text": {"min_length", "max_length"}, "str": {"min_length", "max_length", "pattern"}, "body": set()}
_DOCS_ONLY = {"alias", "description", "examples", "title"}  # read by tools/openapi.py only
_OPTIONS = {kind: bounds | _DOCS_ONLY | ({"embed"} if kind == "body" else set()) for kind, bounds in _BOUNDS.items()}
_KINDS = {"path": ("str",), "query": ("int", "text"), "header": ("str",), "body": ("body",)}  # by location


@dataclass(frozen=True)
class Declared:
    """What a parameter's declaration means at run time: ``kind`` is ``"int"``/``"text"`` (a query's
    ``QueryInt``/``QueryText``), ``"str"`` (an id in the path, a header) or ``"body"`` (a
    :class:`~livestream.schemas.Validated` type); its ``rules`` (:class:`~livestream.queries.Rule`),
    its bounds (the marker's), whether ``None`` is allowed."""

    kind: str
    base: Any
    rules: tuple[Any, ...] = ()
    bounds: tuple[tuple[str, Any], ...] = ()
    optional: bool = False


@dataclass
class Field:
    """One parameter of a route: where it is read, under which name, and its declaration."""

    name: str
    location: str
    alias: str
    annotation: Any
    default: Any
    marker: Optional[Param] = None
    declared: Declared = field(init=False)

    def __post_init__(self) -> None:
        self.declared = _declared(self)

    @property
    def embed(self) -> bool:
        return bool(self.marker is not None and self.marker.options.get("embed"))

    @property
    def is_path_id(self) -> bool:
        """A path parameter declared as an id (``StreamId``, ``UserId``): a string of ID_PATTERN."""
        return self.location == "path" and self.declared.bounds == (("pattern", ID_PATTERN),) and not self.declared.optional

    def core_schema(self) -> Any:
        """The parameter's pydantic-core schema: the value's check, its rules, its bounds, ``None``
        allowed when optional, its default (pydantic checked a route's parameters in this order)."""
        from pydantic_core import core_schema as cs

        declared, bounds = self.declared, dict(self.declared.bounds)
        if declared.kind == "body":
            schema = _body_schema(declared.base)
        elif declared.kind == "int":
            schema = cs.int_schema(**bounds)
        elif declared.kind == "str":
            schema = cs.str_schema(**bounds)
        else:
            schema = cs.str_schema()
        for rule in declared.rules:
            schema = rule.wrap(schema)
        if declared.kind == "text" and bounds:  # checked after the text's rules, as pydantic checked them
            schema = cs.chain_schema([schema, cs.str_schema(**bounds)])
        if declared.optional:
            schema = cs.nullable_schema(schema)
        if self.default is not ...:
            schema = cs.with_default_schema(schema, default=self.default)
        return cs.typed_dict_field(schema, required=self.default is ..., validation_alias=self.alias)


def _body_schema(body_type: Any) -> Any:
    return body_type.core_schema()


def _declared(param: Field) -> Declared:
    """The run-time meaning of a parameter's declaration, from a closed set (see :data:`_KINDS`): any
    other declaration is a TypeError when the route is registered, naming the parameter."""
    base, metadata, optional = _unwrapped(param.annotation)
    rules = tuple(item for item in metadata if not isinstance(item, Param))
    kind = _kind(base, rules)
    options: dict[str, Any] = getattr(param.marker, "options", {})
    if kind not in _KINDS[param.location] or (optional and kind == "body"):
        raise TypeError(f"parameter {param.name!r} ({param.location}): {param.annotation!r} is not a declaration the dispatcher validates")
    unknown = sorted(set(options) - _OPTIONS[kind])
    if unknown:
        raise TypeError(f"parameter {param.name!r} ({param.location}): options {unknown} are not checked by the dispatcher")
    bounds = tuple((key, value) for key, value in options.items() if key in _BOUNDS[kind])
    return Declared(kind, base, rules, bounds, optional)


def _kind(base: Any, rules: tuple[Any, ...]) -> str:
    if rules:
        from livestream.queries import Rule

        if any(not isinstance(rule, Rule) for rule in rules):
            return "unknown"
        return {int: "int", str: "text"}.get(base, "unknown")
    if base is str:
        return "str"
    return "body" if _is_body_type(base) else "unknown"


def _unwrapped(annotation: Any) -> tuple[Any, list[Any], bool]:
    """``Annotated[Optional[Annotated[T, *inner]], *outer]`` as ``(T, [*inner, *outer], optional)``."""
    base, metadata = _annotated(annotation)
    members = typing.get_args(base) if typing.get_origin(base) in (typing.Union, types.UnionType) else ()
    if len(members) == 2 and type(None) in members:
        inner, more = _annotated(next(member for member in members if member is not type(None)))
        return inner, [*more, *metadata], True
    return base, metadata, False


def _annotated(annotation: Any) -> tuple[Any, list[Any]]:
    if typing.get_origin(annotation) is typing.Annotated:
        base, *metadata = typing.get_args(annotation)
        return base, metadata
    return annotation, []


@dataclass
class Route:
    method: str
    path: str  # the rule as declared, with ``<name>`` parameters
    func: Callable[..., Response]
    options: dict[str, Any]  # summary, tags: for the OpenAPI document
    rule: re.Pattern[str] = field(init=False)
    fields: list[Field] = field(init=False)
    _validator: Any = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.path = self.path.rstrip("/")
        self.rule = _compile(self.path)
        try:
            self.fields = _fields(self.func, set(re.findall(r"<(\w+)>", self.path)))
        except TypeError as exc:
            raise TypeError(f"{self.func.__name__}: {exc}") from None
        if sum(f.location == "body" for f in self.fields) > 1:
            raise TypeError(f"{self.func.__name__}: one body parameter at most")

    @property
    def validator(self) -> Any:
        """A pydantic-core ``SchemaValidator`` of the route's parameters, by location (path, query,
        header, body) then as declared: errors come in that order, as Powertools reported them. Built
        on the route's first request (a SnapStart snapshot holds it built)."""
        if self._validator is None:
            from pydantic_core import SchemaValidator
            from pydantic_core import core_schema as cs

            order = ("path", "query", "header", "body")
            ordered = sorted(self.fields, key=lambda f: order.index(f.location))
            self._validator = SchemaValidator(cs.typed_dict_schema({f.name: f.core_schema() for f in ordered}))
        return self._validator


def _fields(func: Callable[..., Any], path_names: set[str]) -> list[Field]:
    """The route function's parameters, where each is read, as Powertools' resolver classified them:
    by its marker; else a path parameter by name; else the body if it is a request type; else a query
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
    return "body" if _is_body_type(_annotated(annotation)[0]) else "query"


def _is_body_type(base: Any) -> bool:
    """A request type: a :class:`~livestream.schemas.Validated` subclass (a pydantic model is not one: it
    would load pydantic on the cold path). If one is declared, its module is loaded already: nothing is
    imported here."""
    validated = getattr(sys.modules.get("livestream.schemas"), "Validated", None)
    return isinstance(base, type) and validated is not None and issubclass(base, validated)


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
        """The route's arguments, validated: pydantic-core's errors raise :class:`RequestValidationError`
        (a body that cannot be read raises its own error first, as Powertools read it first)."""
        if all(param.is_path_id for param in route.fields):  # none, or ids only
            return _path_ids(route, path_args)
        data = self._sent(route, path_args)
        from pydantic_core import ValidationError

        try:
            validated = route.validator.validate_python(data)
        except ValidationError as exc:
            locations = {param.alias: param for param in route.fields}
            raise RequestValidationError([_located(err, locations) for err in exc.errors()]) from None
        return {param.name: validated[param.name] for param in route.fields}

    def _sent(self, route: Route, path_args: dict[str, str]) -> dict[str, Any]:
        """What the request sent for each of the route's parameters, by name as sent (absent if not sent)."""
        event = self.current_event
        sources: dict[str, Mapping[str, Any]] = {
            "path": path_args,
            "query": _query_values(event, route),
            "header": _header_values(event, route),
        }
        data: dict[str, Any] = {}
        for param in route.fields:
            if param.location != "body":
                value = sources[param.location].get(param.alias)
            elif (value := _body_value(param, self._read_body(self))) is None and event.decoded_body and not param.embed:
                data[param.alias] = None  # a JSON null: sent, and not an object
            if value is not None:
                data[param.alias] = value
        return data


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
    """An error of the route's validator, its ``loc`` starting where the value was read."""
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
