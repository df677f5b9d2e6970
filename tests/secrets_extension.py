"""A stand-in for the AWS Parameters and Secrets Lambda extension, on loopback, for the tests and the
cold-start bench: one behaviour for both.

Its documented HTTP API: ``GET /secretsmanager/get?secretId=<name>`` with the function's session token
in ``X-Aws-Parameters-Secrets-Token``, answered with GetSecretValue's JSON. A request without the right
token is 401, another path 404, a secret the source cannot give 400 (the extension passes Secrets
Manager's error on). Like the extension, it caches: its first request per secret reaches the source.
Every request is recorded in ``requests`` as ``(path, token)``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

HEADER = "X-Aws-Parameters-Secrets-Token"
FIELDS = ("ARN", "Name", "SecretString", "VersionId")  # what GetSecretValue answers and the stand-in passes on

Source = Callable[[str], Mapping[str, Any]]
"""A secret's GetSecretValue answer by name; raises for a secret it does not have."""


class SecretsExtension:
    def __init__(self, source: Source, token: str) -> None:
        self.requests: list[tuple[str, str | None]] = []
        self._source = source
        self._token = token
        self._cache: dict[str, bytes] = {}
        extension = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = extension.answer(self.path, self.headers.get(HEADER))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @classmethod
    def of_values(cls, values: Mapping[str, str], token: str) -> SecretsExtension:
        """Answering from a dict of secret strings."""
        return cls(lambda name: {"Name": name, "SecretString": values[name]}, token)

    @classmethod
    def of_secrets_manager(cls, client: Any, token: str) -> SecretsExtension:
        """Answering from a Secrets Manager client (the local emulation's)."""
        return cls(lambda name: client.get_secret_value(SecretId=name), token)

    def answer(self, path: str, token: str | None) -> tuple[int, bytes]:
        self.requests.append((path, token))
        url = urlsplit(path)
        if token != self._token:
            return 401, b'{"message": "Unauthorized"}'
        if url.path != "/secretsmanager/get":
            return 404, b'{"message": "Not found"}'
        name = parse_qs(url.query).get("secretId", [""])[0]
        if name not in self._cache:
            try:
                value = self._source(name)
            except Exception as exc:  # the source's not-found (KeyError, botocore's ClientError)
                return 400, json.dumps({"message": f"{type(exc).__name__}: {name}"}).encode()
            self._cache[name] = json.dumps({k: v for k, v in value.items() if k in FIELDS}).encode()
        return 200, self._cache[name]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
