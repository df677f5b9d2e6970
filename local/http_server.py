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
from local.routing import LAMBDA_PAYLOAD_LIMIT, Router, event_size, proxy_event
from local.workers import FunctionPool

MESSAGES = {400: "Validation failed", 404: "Resource not found", 405: "Method not allowed", 413: "Payload too large", 500: "Internal server error"}
API_GATEWAY_BODY_LIMIT = 10 * 1024 * 1024  # API Gateway refuses larger requests itself (REQUEST_TOO_LARGE)
# What the stdlib server refuses before a request reaches the gateway, as API Gateway's gateway
# responses answer it: an oversized request line (414) or header (431) is REQUEST_TOO_LARGE, 413.
_REFUSALS = {414: 413, 431: 413}


def envelope_error(status: int, detail: str) -> bytes:
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    return json.dumps({"isSuccess": False, "statusCode": status, "data": None, "errors": [MESSAGES[status], detail], "timestamp": stamp}).encode()


class Gateway:
    def __init__(self, template: Template, environments: dict[str, dict[str, str]], thumbnails: tuple[Any, str] | None = None) -> None:
        self.template = template
        self.thumbnails = thumbnails  # (S3 client, bucket) served under THUMBNAILS_PATH
        self.router = Router.from_template(template)
        self.binary_media_types = template.binary_media_types()
        self.pools = {name: FunctionPool(function, environments[name]) for name, function in template.functions().items()}

    def handle(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        url = urlsplit(target)
        if self.thumbnails and method == "GET" and url.path.startswith(THUMBNAILS_PATH + "/"):
            return self._thumbnail(*self.thumbnails, url.path[len(THUMBNAILS_PATH) + 1 :])
        match = self.router.match(method, url.path)
        if match is None:
            return 404, [("Content-Type", "application/json")], envelope_error(404, f"{method} {url.path}: no such route")
        event = proxy_event(match, method, url.path, url.query, headers, body, self.binary_media_types)
        if event_size(event) > LAMBDA_PAYLOAD_LIMIT:
            return 413, [("Content-Type", "application/json")], envelope_error(413, "body: the request exceeds Lambda's 6 MB payload limit")
        status, result = self.pools[match.route.function].invoke(event)
        if status != "ok" or not isinstance(result, dict) or "statusCode" not in result:
            print(f"[{match.route.function}] invocation failed:\n{result}", flush=True)
            return 500, [("Content-Type", "application/json")], envelope_error(500, "the function failed")
        return _http_response(result)

    @staticmethod
    def _thumbnail(s3: Any, bucket: str, key: str) -> tuple[int, list[tuple[str, str]], bytes]:
        try:
            obj = s3.get_object(Bucket=bucket, Key=key)
        except s3.exceptions.NoSuchKey:
            return 404, [("Content-Type", "application/json")], envelope_error(404, f"thumbnail {key}: not found")
        return 200, [("Content-Type", obj["ContentType"]), ("Cache-Control", obj.get("CacheControl", ""))], obj["Body"].read()

    def invoke(self, name: str, event: dict[str, Any]) -> tuple[str, Any]:
        return self.pools[name].invoke(event)

    def stop(self) -> None:
        for pool in self.pools.values():
            pool.stop()


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
            return self._answer(400, [("Content-Type", "application/json")], envelope_error(400, "Content-Length: must be a whole number"))
        if length > API_GATEWAY_BODY_LIMIT:
            self.close_connection = True  # the body is not read: this connection cannot carry another request
            return self._answer(413, [("Content-Type", "application/json")], envelope_error(413, "body: larger than 10 MB"))
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
        """What the stdlib refuses itself (malformed or oversized request lines and headers), in the envelope."""
        status = _REFUSALS.get(code, code if code in MESSAGES and code < 500 else 400)
        self.close_connection = True
        detail = {413: "request: the request line or a header is too large"}.get(status, f"request: {message or 'malformed'}")
        payload = envelope_error(status, detail)
        self.request_version = "HTTP/1.1"  # a malformed line leaves it at HTTP/0.9, which would drop the status line
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
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
