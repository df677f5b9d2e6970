"""The local gateway's errors, as API Gateway answers them: any method (TRACE, made-up ones) on a known
path is 405 with ``Allow`` and on an unknown path 404, both from the catch-all function (ISO timestamp);
"/" (no resource) is 404 and an oversized request line or header 413, from template.yaml's gateway
responses (envelope, ``$context.requestTime`` in CLF); a malformed request and a body over 10 MB are
refused by the front end before the API: a plain 400 / 413, not the envelope."""

from __future__ import annotations

import http.client
import json
import re
import socket
from urllib.parse import urlsplit

import pytest


def _connection(stack) -> http.client.HTTPConnection:
    url = urlsplit(stack.base_url)
    return http.client.HTTPConnection(url.hostname, url.port, timeout=30)


ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
CLF = re.compile(r"^\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000$")  # $context.requestTime


def _envelope(raw: bytes, status: int, timestamp: re.Pattern[str] = ISO) -> dict:
    body = json.loads(raw)
    assert body["isSuccess"] is False and body["statusCode"] == status and body["data"] is None, body
    assert timestamp.match(body["timestamp"]), body
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


def test_the_root_path_is_404_from_the_gateway_response(stack):
    """ "/" has no resource ({proxy+} needs a segment): API Gateway answers MISSING_AUTHENTICATION_TOKEN,
    which the template turns into a 404 in the envelope."""
    conn = _connection(stack)
    conn.request("GET", "/")
    reply = conn.getresponse()
    assert reply.status == 404 and _envelope(reply.read(), 404, CLF)["errors"] == ["Resource not found"]
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
def test_oversized_requests_are_413_from_the_gateway_response(stack, request_bytes):
    status, headers, body = _raw(stack, request_bytes)
    assert status == 413 and headers["content-type"] == "application/json"
    assert _envelope(body, 413, CLF)["errors"] == ["Payload too large"]


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
def test_malformed_requests_are_a_plain_400(stack, request_bytes):
    """Refused by the HTTP front end, as on AWS: no gateway response applies, so no envelope to rely on."""
    status, headers, body = _raw(stack, request_bytes)
    assert status == 400 and headers["content-type"].startswith("text/plain") and body == b"Bad Request"


def test_a_body_over_api_gateways_limit_is_refused_unread_by_the_front_end(stack):
    status, headers, body = _raw(stack, b"POST /api/v1/live-stream/create HTTP/1.1\r\nHost: x\r\nContent-Length: 20000000\r\n\r\n")
    assert status == 413 and headers["content-type"].startswith("text/plain")
    assert body == b"HTTP content length exceeded 10485760 bytes."


def test_a_body_over_lambdas_limit_is_request_too_large(stack):
    """Under API Gateway's 10 MB, over Lambda's 6 MB invoke payload: the REQUEST_TOO_LARGE gateway response."""
    body = b"{" + b" " * (7 * 1024 * 1024) + b"}"
    head = b"POST /api/v1/live-stream/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
    status, headers, raw = _raw(stack, head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    assert status == 413 and headers["content-type"] == "application/json"
    assert _envelope(raw, 413, CLF)["errors"] == ["Payload too large"]
