"""Routes as API Gateway (REST) matches them, and the proxy events it sends to Lambda.

Precedence: path segment by segment, a literal beats ``{param}``, which beats ``{proxy+}``; on the
matched resource an exact method beats ``ANY``; a resource that has neither falls through to the
next, less specific one.
"""

from __future__ import annotations

import base64
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from local.cfn import Template

LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024


@dataclass(frozen=True)
class Route:
    function: str
    method: str
    resource: str
    pattern: re.Pattern[str]
    rank: tuple[int, ...]


@dataclass(frozen=True)
class Match:
    route: Route
    path_parameters: dict[str, str]


def _compile(resource: str) -> tuple[re.Pattern[str], tuple[int, ...]]:
    parts, rank = [], []
    for segment in resource.strip("/").split("/"):
        if segment.endswith("+}"):
            parts.append(f"/(?P<{segment[1:-2]}>.+)")
            rank.append(0)
        elif segment.startswith("{"):
            parts.append(f"/(?P<{segment[1:-1]}>[^/]+)")
            rank.append(1)
        else:
            parts.append("/" + re.escape(segment))
            rank.append(2)
    return re.compile("^" + "".join(parts) + "/?$"), tuple(rank)


class Router:
    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes

    @classmethod
    def from_template(cls, template: Template) -> Router:
        routes = []
        for name, function in template.functions().items():
            for event in function.api_events:
                pattern, rank = _compile(event.path)
                routes.append(Route(name, event.method, event.path, pattern, rank))
        return cls(routes)

    def match(self, method: str, path: str) -> Match | None:
        candidates = [(route, m) for route in self.routes if (m := route.pattern.match(path))]
        for _rank, resource in sorted({(r.rank, r.resource) for r, _ in candidates}, reverse=True):
            found = _method_match([(r, m) for r, m in candidates if r.resource == resource], method)
            if found is not None:
                return found
        return None

    def methods(self) -> list[tuple[str, str]]:
        """Every method of the API: (resource, HTTP method or ``ANY``), as API Gateway throttles them."""
        return sorted({(r.resource, r.method) for r in self.routes})

    def table(self) -> list[tuple[str, str, str]]:
        return sorted((r.resource, r.method, r.function) for r in self.routes)


def _method_match(on_resource: list[tuple[Route, re.Match[str]]], method: str) -> Match | None:
    """The route of one resource for ``method``: the exact method first, else ``ANY``."""
    for wanted in (method.upper(), "ANY"):
        for route, m in on_resource:
            if route.method == wanted:
                return Match(route, {k: v for k, v in m.groupdict().items()})
    return None


def proxy_event(
    match: Match,
    method: str,
    path: str,
    query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    binary_media_types: list[str],
    stage: str = "local",
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """An API Gateway REST (v1) proxy event; binary media types arrive base64-encoded."""
    single, multi = _single_and_multi(headers)
    query_single, query_multi = _single_and_multi(parse_qsl(query, keep_blank_values=True))
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    encoded_body, base64_encoded = _event_body(body, _is_binary(content_type, binary_media_types))
    return {
        "resource": match.route.resource,
        "path": path,
        "httpMethod": method,
        "headers": single or None,
        "multiValueHeaders": multi or None,
        "queryStringParameters": query_single or None,
        "multiValueQueryStringParameters": query_multi or None,
        "pathParameters": match.path_parameters or None,
        "stageVariables": None,
        "requestContext": _request_context(match, method, path, stage, {"sourceIp": source_ip, "userAgent": single.get("User-Agent", "")}),
        "body": encoded_body,
        "isBase64Encoded": base64_encoded,
    }


def _event_body(body: bytes, binary_media_type: bool) -> tuple[str | None, bool]:
    """The event's ``body`` and ``isBase64Encoded``. Binary media types arrive base64-encoded; so does a
    text body that is not valid UTF-8, so that the function sees the bytes that were sent and can
    refuse them (400) rather than a text with U+FFFD substituted for them."""
    if not body:
        return None, False
    if binary_media_type or not _is_utf8(body):
        return base64.b64encode(body).decode(), True
    return body.decode("utf-8"), False


def _single_and_multi(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Name → last value, and name → every value in order (API Gateway's single- and multi-value maps)."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def _request_context(match: Match, method: str, path: str, stage: str, identity: dict[str, str]) -> dict[str, Any]:
    return {
        "resourcePath": match.route.resource,
        "httpMethod": method,
        "path": f"/{stage}{path}",
        "stage": stage,
        "requestId": str(uuid.uuid4()),
        "requestTimeEpoch": int(time.time() * 1000),
        "protocol": "HTTP/1.1",
        "accountId": "123456789012",
        "apiId": "local",
        "identity": identity,
    }


def _is_binary(content_type: str, binary_media_types: list[str]) -> bool:
    media_type = content_type.split(";")[0].strip().lower()
    for pattern in binary_media_types:
        pattern = pattern.lower()
        if pattern == media_type or pattern == "*/*" or (pattern.endswith("/*") and media_type.startswith(pattern[:-1])):
            return True
    return False


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def event_size(event: dict[str, Any]) -> int:
    import json

    return len(json.dumps(event))
