"""The local API Gateway: HTTP on loopback, routed by template.yaml to the functions' workers."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from local.cfn import Template
from local.emulation import THUMBNAILS_PATH
from local.gateway_responses import GatewayResponses, answer_tuple
from local.routing import LAMBDA_PAYLOAD_LIMIT, Match, Router, event_size, proxy_event
from local.throttling import Method, Throttle
from local.workers import FunctionPool

# API Gateway's front end refuses a body over 10 MB before the API sees it: no gateway response applies,
# the answer is a plain-text 413 (as observed on an edge-optimized REST API, whose CloudFront answers
# "HTTP content length exceeded 10485760 bytes."; github.com/koki-develop/lgtm-generator issue 10).
API_GATEWAY_BODY_LIMIT = 10 * 1024 * 1024
FRONT_END_TOO_LARGE = (413, [("Content-Type", "text/plain; charset=utf-8")], b"HTTP content length exceeded 10485760 bytes.")
# What the stdlib server refuses itself. A malformed request line, version or Content-Length never reaches
# the API on AWS either (its HTTP front end refuses it: no gateway response, not the envelope): a plain 400.
# An oversized request line (414) or header (431) is answered as API Gateway's REQUEST_TOO_LARGE.
MALFORMED = (400, [("Content-Type", "text/plain; charset=utf-8")], b"Bad Request")
_TOO_LARGE_REFUSALS = (413, 414, 431)


class Gateway:
    def __init__(
        self,
        template: Template,
        environments: dict[str, dict[str, str]],
        thumbnails: tuple[Any, str] | None = None,
        throttle: Throttle | None = None,
    ) -> None:
        self.template = template
        self.thumbnails = thumbnails  # (S3 client, bucket) served under THUMBNAILS_PATH (CloudFront's on AWS: not throttled)
        self.router = Router.from_template(template)
        # the stage's method throttles and the account's (local/throttling.py), before any function runs
        self.throttle = throttle or Throttle.from_template(template, self.router.methods())
        self.binary_media_types = template.binary_media_types()
        self.responses = GatewayResponses(template)
        self.pools = {name: FunctionPool(function, environments[name]) for name, function in template.functions().items()}

    def handle(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        url = urlsplit(target)
        if self.thumbnails and method == "GET" and url.path.startswith(THUMBNAILS_PATH + "/"):
            return self._thumbnail(*self.thumbnails, url.path[len(THUMBNAILS_PATH) + 1 :])
        match = self.router.match(method, url.path)
        request = _request_variables(method, url.path, match)
        if not self.throttle.admit(_throttled_method(match)):  # API Gateway throttles before anything else runs
            return answer_tuple(self.responses.render("THROTTLED", request))
        if match is None:  # no resource (only "/": the catch-all {proxy+} takes every other path)
            return answer_tuple(self.responses.render("MISSING_AUTHENTICATION_TOKEN", request))
        event = proxy_event(match, method, url.path, url.query, headers, body, self.binary_media_types)
        if event_size(event) > LAMBDA_PAYLOAD_LIMIT:
            # Lambda refuses an invoke payload over 6 MB (RequestEntityTooLargeException); API Gateway then
            # answers REQUEST_TOO_LARGE ({"message": "Request Too Long"}, 413, by default), not an integration
            # failure (observed: github.com/koki-develop/lgtm-generator issue 10; Lambda quotas: 6 MB
            # request payload for synchronous invocation)
            return answer_tuple(self.responses.render("REQUEST_TOO_LARGE", request))
        status, result = self._invoke(match.route.function, event)
        if status != "ok" or not isinstance(result, dict) or "statusCode" not in result:
            # an unhandled error, a timeout, or an answer that is not a proxy response: API Gateway's
            # INTEGRATION_FAILURE, answered by the template's DEFAULT_5XX
            print(f"[{match.route.function}] invocation failed:\n{result}", flush=True)
            return answer_tuple(self.responses.render("INTEGRATION_FAILURE", request))
        return _http_response(result)

    def _invoke(self, name: str, event: dict[str, Any]) -> tuple[str, Any]:
        try:
            return self.pools[name].invoke(event)
        except Exception as exc:  # the function's environment failed to start (an init error)
            return "error", f"{type(exc).__name__}: {exc}"

    @staticmethod
    def _thumbnail(s3: Any, bucket: str, key: str) -> tuple[int, list[tuple[str, str]], bytes]:
        try:
            obj = s3.get_object(Bucket=bucket, Key=key)
        except s3.exceptions.NoSuchKey:
            return 404, [("Content-Type", "application/json")], json.dumps({"message": f"thumbnail {key}: not found"}).encode()
        return 200, [("Content-Type", obj["ContentType"]), ("Cache-Control", obj.get("CacheControl", ""))], obj["Body"].read()

    def invoke(self, name: str, event: dict[str, Any]) -> tuple[str, Any]:
        return self.pools[name].invoke(event)

    def stop(self) -> None:
        for pool in self.pools.values():
            pool.stop()


def _request_variables(method: str, path: str, match: Match | None) -> dict[str, str]:
    """What a gateway response's ``$context`` knows of the request."""
    request = {"httpMethod": method, "path": path}
    if match is not None:
        request["resourcePath"] = match.route.resource
    return request


def _throttled_method(match: Match | None) -> Method | None:
    """The method whose bucket a request takes a token from; ``None`` when no resource matched (the
    account's bucket only)."""
    return (match.route.resource, match.route.method) if match is not None else None


def _http_response(result: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [(k, str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers += [(name, str(v)) for v in values if (name, str(v)) not in headers]
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode("utf-8")
    return int(result["statusCode"]), headers, body


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True  # a second `make run` right after the first
    daemon_threads = True
    request_queue_size = 256  # a burst of concurrent clients must not be reset

    def __init__(self, port: int, gateway: Gateway) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.gateway = gateway


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _handle(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length < 0:
                raise ValueError(length)
        except ValueError:
            self.close_connection = True
            return self._answer(*MALFORMED)
        if length > API_GATEWAY_BODY_LIMIT:
            self.close_connection = True  # the body is not read: this connection cannot carry another request
            return self._answer(*FRONT_END_TOO_LARGE)
        body = self.rfile.read(length) if length else b""
        self._answer(*self.server.gateway.handle(self.command, self.path, list(self.headers.items()), body))

    def _answer(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def __getattr__(self, name: str) -> Any:
        # every method reaches the gateway, TRACE and made-up ones too: the routes answer 404 or
        # 405 with Allow in the envelope (the stdlib would answer an HTML 501)
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """What the stdlib refuses itself: an oversized request line or header as API Gateway's
        REQUEST_TOO_LARGE gateway response, anything malformed as a plain 400 (see ``MALFORMED``)."""
        self.close_connection = True
        if code in _TOO_LARGE_REFUSALS:
            status, headers, payload = answer_tuple(self.server.gateway.responses.render("REQUEST_TOO_LARGE"))
        else:
            status, headers, payload = MALFORMED
        self.request_version = "HTTP/1.1"  # a malformed line leaves it at HTTP/0.9, which would drop the status line
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        print(f"{self.address_string()} {format % args}", flush=True)


def serve(gateway: Gateway, port: int) -> ThreadingHTTPServer:
    """The gateway on 127.0.0.1:``port``, served from a thread of its own."""
    server = _Server(port, gateway)
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server
