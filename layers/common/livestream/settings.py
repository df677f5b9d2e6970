"""Typed configuration, read once per container from the environment (set by template.yaml).

template.yaml gives each function its own variables (Globals, plus the function's own). A variable
the function reads but was not given fails with a message naming the variable and the function,
instead of an empty name reaching AWS: ``TABLE_NAME`` when the settings are first read (every
function that reads settings needs it), the others when first read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import Optional, TypeVar

# A plain dataclass, not a pydantic model: every function reads its settings on its first request, and
# pydantic is then loaded only by the functions that validate a request body or query (see
# docs/performance.md: about a third of the floor's time for the functions that read only ids).


class MissingSetting(RuntimeError):
    """template.yaml does not give this function a variable its code reads."""

    def __init__(self, *variables: str) -> None:
        function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "this function")
        names = ", ".join(variables)
        super().__init__(f"{function} reads {names} but its environment has no such variable: add it to the function's Environment in template.yaml")


class InvalidSetting(ValueError):
    """A variable template.yaml gives this function holds a value its code cannot use."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")


def _required(value: Optional[str], variable: str) -> str:
    """A variable the code that reads it requires."""
    if value is None:
        raise MissingSetting(variable)
    return value


T = TypeVar("T")


def _var(name: str, default: T, *, choices: tuple[str, ...] = (), positive: bool = False) -> T:
    """A field read from the environment variable ``name``: text, one of ``choices``, or a positive whole number."""
    found: T = field(default=default, metadata={"env": name, "choices": choices, "positive": positive})
    return found


def _parse(variable: str, raw: str, choices: tuple[str, ...], positive: bool) -> object:
    if choices and raw not in choices:
        raise InvalidSetting(variable, f"must be one of {', '.join(choices)}, not {raw!r}")
    if not positive:
        return raw
    if not raw.strip().isdigit() or int(raw) < 1:
        raise InvalidSetting(variable, f"must be a positive whole number, not {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class Settings:
    table_name: str = _var("TABLE_NAME", "")  # required: from_environment checks it is set
    idempotency_table_name_: Optional[str] = _var("IDEMPOTENCY_TABLE_NAME", None)
    thumbnail_bucket_: Optional[str] = _var("THUMBNAIL_BUCKET", None)
    thumbnail_base_url_: Optional[str] = _var("THUMBNAIL_BASE_URL", None)
    default_thumbnail_url: str = _var("DEFAULT_THUMBNAIL_URL", "")
    jwt_algorithm: str = _var("JWT_ALGORITHM", "HS256", choices=("HS256", "RS256"))
    jwt_secret_name_: Optional[str] = _var("JWT_SECRET_NAME", None)
    jwt_jwks_url: str = _var("JWT_JWKS_URL", "")
    jwt_issuer: str = _var("JWT_ISSUER", "")
    jwt_audience: str = _var("JWT_AUDIENCE", "")
    api_token_secret_name_: Optional[str] = _var("API_TOKEN_SECRET_NAME", None)
    agora_secret_name_: Optional[str] = _var("AGORA_SECRET_NAME", None)
    agora_token_ttl_seconds: int = _var("AGORA_TOKEN_TTL_SECONDS", 3600, positive=True)
    agora_token_version: str = _var("AGORA_TOKEN_VERSION", "007", choices=("006", "007"))
    agora_notification_secret_name_: Optional[str] = _var("AGORA_NOTIFICATION_SECRET_NAME", None)
    presence_grace_seconds: int = _var("PRESENCE_GRACE_SECONDS", 300, positive=True)
    secrets_max_age_seconds: int = _var("SECRETS_MAX_AGE_SECONDS", 300, positive=True)
    idempotency_ttl_seconds: int = _var("IDEMPOTENCY_TTL_SECONDS", 86400, positive=True)
    reminder_queue_url_: Optional[str] = _var("REMINDER_QUEUE_URL", None)
    reminder_lead_minutes: int = _var("REMINDER_LEAD_MINUTES", 15, positive=True)
    event_bus_name_: Optional[str] = _var("EVENT_BUS_NAME", None)
    audience_event_interval_seconds: int = _var("AUDIENCE_EVENT_INTERVAL_SECONDS", 10, positive=True)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        values: dict[str, object] = {}
        for spec in fields(cls):
            variable = spec.metadata["env"]
            if variable in environ:
                values[spec.name] = _parse(variable, environ[variable], spec.metadata["choices"], spec.metadata["positive"])
        if "TABLE_NAME" not in environ:
            raise MissingSetting("TABLE_NAME")
        return cls(**values)  # type: ignore[arg-type]  # each value parsed as its field's metadata says

    @property
    def idempotency_table_name(self) -> str:
        return _required(self.idempotency_table_name_, "IDEMPOTENCY_TABLE_NAME")

    @property
    def thumbnail_bucket(self) -> str:
        return _required(self.thumbnail_bucket_, "THUMBNAIL_BUCKET")

    @property
    def thumbnail_base_url(self) -> str:
        return _required(self.thumbnail_base_url_, "THUMBNAIL_BASE_URL")

    @property
    def jwt_secret_name(self) -> str:
        return _required(self.jwt_secret_name_, "JWT_SECRET_NAME")

    @property
    def api_token_secret_name(self) -> str:
        return _required(self.api_token_secret_name_, "API_TOKEN_SECRET_NAME")

    @property
    def agora_secret_name(self) -> str:
        return _required(self.agora_secret_name_, "AGORA_SECRET_NAME")

    @property
    def reminder_queue_url(self) -> str:
        return _required(self.reminder_queue_url_, "REMINDER_QUEUE_URL")

    @property
    def agora_notification_secret_name(self) -> str:
        return _required(self.agora_notification_secret_name_, "AGORA_NOTIFICATION_SECRET_NAME")

    @property
    def event_bus_name(self) -> str:
        return _required(self.event_bus_name_, "EVENT_BUS_NAME")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_environment(os.environ)
