"""Secrets from Secrets Manager, fetched once per container and kept SECRETS_MAX_AGE_SECONDS.

Through the AWS Parameters and Secrets Lambda Extension when it runs beside the function (the
template's ``SecretsExtensionLayerArn``): one loopback HTTP request, no Secrets Manager client to
build at cold start. Without the extension (locally, or the parameter left empty), a Secrets Manager
client of the same botocore session as the DynamoDB client (:mod:`livestream.aws`), created on first use. Either way a fetch
that fails is a 503: the dependency is down, not the request wrong.

Values never reach logs or responses. ``clear_cache`` forgets them (a SnapStart restore does: a
restored copy must not trust the age of a value fetched before the snapshot).

botocore logs every response body at DEBUG, Secrets Manager's included: a filter on its parser's
logger replaces the bodies that carry a secret value before any handler sees them.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from functools import lru_cache
from typing import Any

from livestream.errors import ServiceUnavailable
from livestream.settings import get_settings

_SECRET_FIELDS = (b'"SecretString"', b'"SecretBinary"')


class _RedactSecretValues(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if any(_holds_secret(arg) for arg in args) or _holds_secret(record.msg):
            record.msg, record.args = "Response body: <redacted: a Secrets Manager secret value>", ()
        return True


def _holds_secret(value: Any) -> bool:
    if isinstance(value, str):
        value = value.encode("utf-8", "replace")
    return isinstance(value, bytes | bytearray) and any(field in value for field in _SECRET_FIELDS)


def _redact_botocore_logs() -> None:
    parsers = logging.getLogger("botocore.parsers")
    if not any(isinstance(f, _RedactSecretValues) for f in parsers.filters):
        parsers.addFilter(_RedactSecretValues())


_redact_botocore_logs()


EXTENSION_TIMEOUT_SECONDS = 2.0

_cache: dict[str, tuple[float, str]] = {}
_lock = threading.Lock()
_extension_absent = False


class SecretUnavailable(ServiceUnavailable):
    """Secrets Manager (or the extension) could not give the secret: 503 ``Service unavailable`` with
    ``Retry-After``, like every failing dependency."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.secret_name = name


def get_secret_string(name: str) -> str:
    max_age = get_settings().secrets_max_age_seconds
    hit = _cache.get(name)
    if hit is not None and time.monotonic() - hit[0] < max_age:
        return hit[1]
    with _lock:
        value = _fetch(name)
        _cache[name] = (time.monotonic(), value)
    return value


def get_secret_json(name: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(get_secret_string(name))
    return value


def clear_cache() -> None:
    global _extension_absent
    _cache.clear()
    _extension_absent = False


def _fetch(name: str) -> str:
    global _extension_absent
    token = os.environ.get("AWS_SESSION_TOKEN")
    if token and not _extension_absent:
        try:
            return _from_extension(name, token)
        except ConnectionRefusedError:
            _extension_absent = True  # not deployed with the extension: use the client from now on
    try:
        value: str = _client().get_secret_value(SecretId=name)["SecretString"]
    except Exception as exc:  # botocore's ClientError, endpoint and credential errors alike
        raise SecretUnavailable(name) from exc
    return value


def _from_extension(name: str, token: str) -> str:
    """GET /secretsmanager/get?secretId=<name> on the extension's loopback port (its documented API)."""
    from http.client import HTTPConnection
    from urllib.parse import quote

    port = int(os.environ.get("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "2773"))
    connection = HTTPConnection("localhost", port, timeout=EXTENSION_TIMEOUT_SECONDS)
    try:
        connection.request("GET", f"/secretsmanager/get?secretId={quote(name, safe='')}", headers={"X-Aws-Parameters-Secrets-Token": token})
        response = connection.getresponse()
        payload = response.read()
    except ConnectionRefusedError:
        raise
    except OSError as exc:
        raise SecretUnavailable(name) from exc
    finally:
        connection.close()
    if response.status != 200:
        raise SecretUnavailable(name)
    value: str = json.loads(payload)["SecretString"]
    return value


@lru_cache(maxsize=1)
def _client() -> Any:
    from livestream import aws

    return aws.client("secretsmanager")
