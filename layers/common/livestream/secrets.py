"""Secrets from Secrets Manager through Powertools parameters (cached for SECRETS_MAX_AGE_SECONDS).

Values never reach logs or responses. The Powertools parameters module is imported on first use,
so functions that need no secret pay nothing for it at cold start.
"""

from __future__ import annotations

from typing import Any

from livestream.settings import get_settings


def get_secret_string(name: str) -> str:
    from aws_lambda_powertools.utilities import parameters

    return parameters.get_secret(name, max_age=get_settings().secrets_max_age_seconds)


def get_secret_json(name: str) -> dict[str, Any]:
    from aws_lambda_powertools.utilities import parameters

    return parameters.get_secret(name, transform="json", max_age=get_settings().secrets_max_age_seconds)
