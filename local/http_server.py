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

MESSAGES = {404: "Resource not found", 413: "Payload too large", 500: "Internal server error"}


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
            return self._thumbnail(url.path[len(THUMBNAILS_PATH) + 1 :])
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

    def _thumbnail(self, key: str) -> tuple[int, list[tuple[str, str]], bytes]:
        s3, bucket = self.thumbnails  # type: ignore[misc]
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


def serve(gateway: Gateway, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, headers, payload = gateway.handle(self.command, self.path, list(self.headers.items()), body)
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _handle

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
            print(f"{self.address_string()} {format % args}", flush=True)

    server = _Server(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server
