"""Typed configuration, read once per container from the environment (set by template.yaml)."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal, Optional

from pydantic import BaseModel, Field, PositiveInt


class Settings(BaseModel):
    table_name: str = Field(alias="TABLE_NAME")
    idempotency_table_name: str = Field("", alias="IDEMPOTENCY_TABLE_NAME")
    thumbnail_bucket: str = Field("", alias="THUMBNAIL_BUCKET")
    thumbnail_base_url: str = Field("", alias="THUMBNAIL_BASE_URL")
    default_thumbnail_url: str = Field("", alias="DEFAULT_THUMBNAIL_URL")
    jwt_algorithm: Literal["HS256", "RS256"] = Field("HS256", alias="JWT_ALGORITHM")
    jwt_secret_name: str = Field("", alias="JWT_SECRET_NAME")
    jwt_jwks_url: str = Field("", alias="JWT_JWKS_URL")
    jwt_issuer: str = Field("", alias="JWT_ISSUER")
    jwt_audience: str = Field("", alias="JWT_AUDIENCE")
    api_token_secret_name: str = Field("", alias="API_TOKEN_SECRET_NAME")
    agora_secret_name: str = Field("", alias="AGORA_SECRET_NAME")
    agora_token_ttl_seconds: PositiveInt = Field(3600, alias="AGORA_TOKEN_TTL_SECONDS")
    agora_token_version: Literal["006", "007"] = Field("007", alias="AGORA_TOKEN_VERSION")
    agora_notification_secret_name: str = Field("", alias="AGORA_NOTIFICATION_SECRET_NAME")
    presence_grace_seconds: PositiveInt = Field(300, alias="PRESENCE_GRACE_SECONDS")
    secrets_max_age_seconds: PositiveInt = Field(300, alias="SECRETS_MAX_AGE_SECONDS")
    idempotency_ttl_seconds: PositiveInt = Field(86400, alias="IDEMPOTENCY_TTL_SECONDS")
    reminder_queue_url: Optional[str] = Field(None, alias="REMINDER_QUEUE_URL")
    reminder_lead_minutes: PositiveInt = Field(15, alias="REMINDER_LEAD_MINUTES")
    event_bus_name: str = Field("", alias="EVENT_BUS_NAME")
    audience_event_interval_seconds: PositiveInt = Field(10, alias="AUDIENCE_EVENT_INTERVAL_SECONDS")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.model_validate({k: v for k, v in os.environ.items() if k.isupper()})
