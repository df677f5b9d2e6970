"""Secrets from Secrets Manager through Powertools parameters (cached for SECRETS_MAX_AGE_SECONDS).

Values never reach logs or responses. botocore logs every response body at DEBUG, Secrets
Manager's included: a filter on its parser's logger replaces the bodies that carry a secret value
before any handler sees them. The Powertools parameters module is imported on first use, so
functions that need no secret pay nothing for it at cold start.
"""

from __future__ import annotations

import logging
from typing import Any

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


def get_secret_string(name: str) -> str:
    from aws_lambda_powertools.utilities import parameters

    return parameters.get_secret(name, max_age=get_settings().secrets_max_age_seconds)


def get_secret_json(name: str) -> dict[str, Any]:
    from aws_lambda_powertools.utilities import parameters

    return parameters.get_secret(name, transform="json", max_age=get_settings().secrets_max_age_seconds)
