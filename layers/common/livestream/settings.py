"""Typed configuration, read once per container from the environment (set by template.yaml).

template.yaml gives each function its own variables (Globals, plus the function's own). A variable
the function reads but was not given fails with a message naming the variable and the function,
instead of an empty name reaching AWS: ``TABLE_NAME`` when the settings are first read (every
function that reads settings needs it), the others when first read.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal, Optional

from pydantic import BaseModel, Field, PositiveInt, ValidationError


class MissingSetting(RuntimeError):
    """template.yaml does not give this function a variable its code reads."""

    def __init__(self, *variables: str) -> None:
        function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "this function")
        names = ", ".join(variables)
        super().__init__(f"{function} reads {names} but its environment has no such variable: add it to the function's Environment in template.yaml")


def _required(value: Optional[str], variable: str) -> str:
    """A variable the code that reads it requires."""
    if value is None:
        raise MissingSetting(variable)
    return value


class Settings(BaseModel):
    table_name: str = Field(alias="TABLE_NAME")
    idempotency_table_name_: Optional[str] = Field(None, alias="IDEMPOTENCY_TABLE_NAME")
    thumbnail_bucket_: Optional[str] = Field(None, alias="THUMBNAIL_BUCKET")
    thumbnail_base_url_: Optional[str] = Field(None, alias="THUMBNAIL_BASE_URL")
    default_thumbnail_url: str = Field("", alias="DEFAULT_THUMBNAIL_URL")
    jwt_algorithm: Literal["HS256", "RS256"] = Field("HS256", alias="JWT_ALGORITHM")
    jwt_secret_name_: Optional[str] = Field(None, alias="JWT_SECRET_NAME")
    jwt_jwks_url: str = Field("", alias="JWT_JWKS_URL")
    jwt_issuer: str = Field("", alias="JWT_ISSUER")
    jwt_audience: str = Field("", alias="JWT_AUDIENCE")
    api_token_secret_name_: Optional[str] = Field(None, alias="API_TOKEN_SECRET_NAME")
    agora_secret_name_: Optional[str] = Field(None, alias="AGORA_SECRET_NAME")
    agora_token_ttl_seconds: PositiveInt = Field(3600, alias="AGORA_TOKEN_TTL_SECONDS")
    agora_token_version: Literal["006", "007"] = Field("007", alias="AGORA_TOKEN_VERSION")
    agora_notification_secret_name_: Optional[str] = Field(None, alias="AGORA_NOTIFICATION_SECRET_NAME")
    presence_grace_seconds: PositiveInt = Field(300, alias="PRESENCE_GRACE_SECONDS")
    secrets_max_age_seconds: PositiveInt = Field(300, alias="SECRETS_MAX_AGE_SECONDS")
    idempotency_ttl_seconds: PositiveInt = Field(86400, alias="IDEMPOTENCY_TTL_SECONDS")
    reminder_queue_url_: Optional[str] = Field(None, alias="REMINDER_QUEUE_URL")
    reminder_lead_minutes: PositiveInt = Field(15, alias="REMINDER_LEAD_MINUTES")
    event_bus_name_: Optional[str] = Field(None, alias="EVENT_BUS_NAME")
    audience_event_interval_seconds: PositiveInt = Field(10, alias="AUDIENCE_EVENT_INTERVAL_SECONDS")

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
    try:
        return Settings.model_validate({k: v for k, v in os.environ.items() if k.isupper()})
    except ValidationError as exc:
        missing = [str(e["loc"][0]) for e in exc.errors() if e["type"] == "missing"]
        if missing:
            raise MissingSetting(*missing) from exc
        raise
