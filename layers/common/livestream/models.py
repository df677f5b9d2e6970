"""Pydantic models: what requests are validated into, and the stream object every stream endpoint answers."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal, Optional

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict

# the create body's caps, which the OpenAPI document's create bodies (openapi_models) show
from livestream.create_command import MAX_BROADCASTERS as MAX_BROADCASTERS
from livestream.create_command import MAX_GUESTS as MAX_GUESTS
from livestream.create_command import MAX_PRICE as MAX_PRICE
from livestream.ids import ID_PATTERN
from livestream.rules import api_time, check_text

StreamStatus = Literal["scheduled", "active", "ended", "cancelled"]
Role = Literal["host", "broadcaster", "guest", "audience"]

MAX_COUNT = 2**53 - 1

Text = Annotated[str, Strict(), AfterValidator(check_text)]
"""A JSON string (not a number, boolean or list) of valid Unicode without control characters."""
MultilineText = Annotated[str, Strict(), AfterValidator(partial(check_text, line_breaks=True))]
Count = Annotated[int, Strict(), Field(ge=0, le=MAX_COUNT)]


class _Model(BaseModel):
    """Validators are built on a model's first use, not at import: each function builds only the
    models its requests use (a SnapStart snapshot has them all built: ``snapstart.prime``)."""

    model_config = ConfigDict(defer_build=True)


VariantName = Annotated[Text, Field(min_length=1, max_length=50)]
"""A key of ``profilePhoto.variants``: stored as a map key, which DynamoDB needs to be at least a character."""


ApiTime = Annotated[Text, Field(max_length=64, json_schema_extra={"format": "date-time"}), AfterValidator(api_time)]
"""A timestamp a sync brings in, kept and answered as ``2026-01-15T10:30:00.000Z``."""


class ProfilePhoto(_Model):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    id: Optional[Text] = Field(None, alias="_id", max_length=64)
    url: Optional[Text] = Field(None, max_length=2048)
    type: Optional[Text] = Field(None, max_length=50)
    variants: dict[VariantName, Annotated[Text, Field(max_length=2048)]] = Field(default_factory=dict, max_length=20)
    createdAt: Optional[Text] = Field(None, max_length=64)
    updatedAt: Optional[Text] = Field(None, max_length=64)


class ProfilePhotoIn(ProfilePhoto):
    """``profilePhoto`` as a profile sync sends it: its times converted to the API's format."""

    createdAt: Optional[ApiTime] = None
    updatedAt: Optional[ApiTime] = None


class UserSummary(_Model):
    """How a user appears inside a stream (``creator``, ``guests[]``, ``broadcasters[]``)."""

    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    username: Optional[str] = None
    name: Optional[str] = None
    surname: Optional[str] = None
    profilePhoto: Optional[ProfilePhoto] = None
    availabilityStatus: Optional[str] = None


class UserProfileIn(_Model):
    """Body of ``PUT /internal/v1/users/{userId}`` (the user service's profile sync)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    username: Text = Field(min_length=1, max_length=64)
    name: Text = Field(min_length=1, max_length=100)
    surname: Text = Field(min_length=1, max_length=100)
    profilePhoto: Optional[ProfilePhotoIn] = None
    availabilityStatus: Optional[Text] = Field(None, max_length=50)
    expertise: Optional[Text] = Field(None, max_length=200)
    followersCount: Count = 0
    followingCount: Count = 0


class UserProfile(UserProfileIn):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", strict=False)

    id: str = Field(alias="_id", pattern=ID_PATTERN)


class StreamOut(_Model):
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
