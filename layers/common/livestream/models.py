"""Pydantic models: what clients send and what they get back (the contract in code)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from livestream.clock import now
from livestream.ids import ID_PATTERN, is_id

StreamStatus = Literal["scheduled", "active", "ended", "cancelled"]
Role = Literal["host", "broadcaster", "guest", "audience"]

MAX_GUESTS = 10
MAX_BROADCASTERS = 5
MAX_PRICE = Decimal("10000")
CLOCK_SKEW = timedelta(minutes=1)
MAX_SCHEDULE_AHEAD = timedelta(days=90)


class ProfilePhoto(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    id: Optional[str] = Field(None, alias="_id")
    url: Optional[str] = Field(None, max_length=2048)
    type: Optional[str] = Field(None, max_length=50)
    variants: dict[str, str] = Field(default_factory=dict)
    createdAt: Optional[str] = None
    updatedAt: Optional[str] = None


class UserSummary(BaseModel):
    """How a user appears inside a stream (``creator``, ``guests[]``, ``broadcasters[]``)."""

    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    username: Optional[str] = None
    name: Optional[str] = None
    surname: Optional[str] = None
    profilePhoto: Optional[ProfilePhoto] = None
    availabilityStatus: Optional[str] = None


class UserProfileIn(BaseModel):
    """Body of ``PUT /internal/v1/users/{userId}`` (the user service's profile sync)."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=100)
    surname: str = Field(min_length=1, max_length=100)
    profilePhoto: Optional[ProfilePhoto] = None
    availabilityStatus: Optional[str] = Field(None, max_length=50)
    expertise: Optional[str] = Field(None, max_length=200)
    followersCount: int = Field(0, ge=0)
    followingCount: int = Field(0, ge=0)


class UserProfile(UserProfileIn):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    id: str = Field(alias="_id", pattern=ID_PATTERN)


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


class CreateStreamCommand(BaseModel):
    """The create body, multipart or JSON, with every rule of the create section of docs/api.md."""

    model_config = ConfigDict(extra="ignore")

    title: str
    liveStreamType: Literal["solo", "multi"] = "solo"
    guests: list[str] = Field(default_factory=list)
    broadcasters: list[str] = Field(default_factory=list)
    price: Optional[Decimal] = Field(None, gt=0, le=MAX_PRICE, decimal_places=2)
    durationGoal: Optional[int] = Field(None, ge=1, le=1440, strict=False)
    motivation: Optional[str] = Field(None, max_length=1000)
    interest: Optional[str] = Field(None, max_length=50)
    plannedStartDate: Optional[datetime] = None

    @field_validator("title", mode="before")
    @classmethod
    def _title(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("field required")
        if not isinstance(value, str):
            return value
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        if len(value) > 120:
            raise ValueError("must be at most 120 characters")
        return value

    @field_validator("price", "durationGoal", "motivation", "interest", "plannedStartDate", mode="before")
    @classmethod
    def _optional(cls, value: Any) -> Any:
        return _blank_to_none(value)

    @field_validator("liveStreamType", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        return _blank_to_none(value) or "solo"

    @field_validator("durationGoal", mode="before")
    @classmethod
    def _whole_minutes(cls, value: Any) -> Any:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError("must be a whole number")
        if isinstance(value, str) and not value.strip().lstrip("+").isdigit():
            raise ValueError("must be a whole number")
        return value

    @field_validator("price", mode="before")
    @classmethod
    def _price(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be a decimal number")
        if isinstance(value, float):
            return Decimal(str(value))
        return value

    @field_validator("guests", "broadcasters", mode="before")
    @classmethod
    def _id_list(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return []
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise ValueError("must be a JSON array of user ids") from None
        if not isinstance(value, list):
            raise ValueError("must be a JSON array of user ids")
        bad = [v for v in value if not is_id(v)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a user id (24 lowercase hex characters)")
        if len(set(value)) != len(value):
            raise ValueError("must not contain the same user twice")
        return value

    @field_validator("guests")
    @classmethod
    def _guest_cap(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_GUESTS:
            raise ValueError(f"must have at most {MAX_GUESTS} users")
        return value

    @field_validator("broadcasters")
    @classmethod
    def _broadcaster_cap(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_BROADCASTERS:
            raise ValueError(f"must have at most {MAX_BROADCASTERS} users")
        return value

    @field_validator("plannedStartDate")
    @classmethod
    def _planned(cls, value: Optional[datetime]) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        current = now()
        if value < current - CLOCK_SKEW:
            raise ValueError("must not be in the past")
        if value > current + MAX_SCHEDULE_AHEAD:
            raise ValueError("must be at most 90 days ahead")
        return value

    @model_validator(mode="after")
    def _roles(self) -> CreateStreamCommand:
        if self.broadcasters and self.liveStreamType != "multi":
            raise _FieldError("broadcasters", "only allowed for multi streams")
        overlap = set(self.broadcasters) & set(self.guests)
        if overlap:
            raise _FieldError("broadcasters", f"{sorted(overlap)[0]} is also a guest")
        return self

    def fingerprint(self) -> dict[str, Any]:
        """The request as JSON-able data, for idempotency payload validation."""
        return self.model_dump(mode="json")


class _FieldError(ValueError):
    """A cross-field rule broken by one named field (reported as ``"<field>: <message>"``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class StreamOut(BaseModel):
    """A stream as every endpoint answers it (every field, with its JSON type, as clients know it)."""

    id: str
    title: str
    liveStreamType: Literal["solo", "multi"]
    channelName: str
    broadcasters: list[UserSummary]
    guests: list[UserSummary]
    creator: UserSummary
    thumbnailUrl: Optional[str]
    recording: bool
    recordingUrl: Optional[str]
    replayAccess: Optional[dict[str, Any]]
    status: StreamStatus
    accessType: Literal["free", "paid"]
    price: Optional[float]
    interest: Optional[str]
    durationGoal: Optional[int]
    motivation: Optional[str]
    isActiveReplayOnCreatorProfile: Optional[bool]
    replayCreditPrice: Optional[float]
    startedAt: Optional[str]
    plannedStartDate: Optional[str]
    endedAt: Optional[str]
    plannedEndDate: Optional[str]
    createdAt: str
    updatedAt: str
    fundingGoal: Optional[float]
    collectedFunding: Optional[float]
    fundingPercentage: Optional[float]
    role: Optional[Role]
    miniCrowdFundings: list[dict[str, Any]]


class JoinRequest(BaseModel):
    """Body of the three join endpoints."""

    liveStreamId: str = Field(pattern=ID_PATTERN, description="The stream to join: 24 lowercase hex characters")
