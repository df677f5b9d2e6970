"""The local gateway answers every error in the envelope, as API Gateway's gateway responses do:
any method (TRACE, made-up ones) on a known path is 405 with ``Allow``, on an unknown path 404;
an oversized request line or header is 413; a malformed request is 400."""

from __future__ import annotations

import http.client
import json
import socket
from urllib.parse import urlsplit

import pytest


def _connection(stack) -> http.client.HTTPConnection:
    url = urlsplit(stack.base_url)
    return http.client.HTTPConnection(url.hostname, url.port, timeout=30)


def _envelope(raw: bytes, status: int) -> dict:
    body = json.loads(raw)
    assert body["isSuccess"] is False and body["statusCode"] == status and body["data"] is None, body
    assert body["timestamp"].endswith("Z")
    return body


@pytest.mark.parametrize("method", ["TRACE", "FOO", "PATCH", "OPTIONS", "CONNECT", "PROPFIND", "get"])
def test_any_other_method_on_a_known_path_is_405_with_allow(stack, method):
    conn = _connection(stack)
    conn.request(method, "/api/v1/live-stream/create")
    reply = conn.getresponse()
    body = _envelope(reply.read(), 405)
    assert reply.status == 405 and reply.getheader("Allow") == "POST"
    assert body["errors"][0] == "Method not allowed"
    conn.close()


@pytest.mark.parametrize("method", ["TRACE", "FOO"])
def test_any_method_on_an_unknown_path_is_404(stack, method):
    conn = _connection(stack)
    conn.request(method, "/nowhere/at/all")
    reply = conn.getresponse()
    assert reply.status == 404 and _envelope(reply.read(), 404)["errors"][0] == "Resource not found"
    conn.close()


def _raw(stack, request: bytes) -> tuple[int, dict[str, str], bytes]:
    url = urlsplit(stack.base_url)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in header_lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /openapi.json HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",  # one header over 64 KiB
        b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(150)) + b"\r\n",  # too many
        b"GET /openapi.json?q=" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",  # request line over 64 KiB
    ],
    ids=["long-header", "many-headers", "long-request-line"],
)
def test_oversized_requests_are_413_in_the_envelope(stack, request_bytes):
    status, headers, body = _raw(stack, request_bytes)
    assert status == 413 and headers["content-type"] == "application/json"
    assert _envelope(body, 413)["errors"][0] == "Payload too large"


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /openapi.json HTTP/1.1 extra\r\n\r\n",  # malformed request line
        b"GET /openapi.json HTTP/9.9\r\n\r\n",  # unsupported version
        b"POST /api/v1/live-stream/create HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n",
        b"POST /api/v1/live-stream/create HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    ],
    ids=["bad-request-line", "bad-version", "bad-content-length", "negative-content-length"],
)
def test_malformed_requests_are_400_in_the_envelope(stack, request_bytes):
    status, _, body = _raw(stack, request_bytes)
    assert status == 400 and _envelope(body, 400)["errors"][0] == "Validation failed"


def test_a_body_over_api_gateways_limit_is_refused_unread(stack):
    status, _, body = _raw(stack, b"POST /api/v1/live-stream/create HTTP/1.1\r\nHost: x\r\nContent-Length: 20000000\r\n\r\n")
    assert status == 413 and _envelope(body, 413)["errors"][0] == "Payload too large"
