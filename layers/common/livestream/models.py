"""Pydantic models of the answers (the stream object every stream endpoint answers, its user summaries),
for the OpenAPI document and the tests that hold the answers to it; requests are validated by the
pydantic-core types of :mod:`livestream.schemas` and never load this module."""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

# the create body's caps, which the OpenAPI document's create bodies (openapi_models) show
from livestream.create_command import MAX_BROADCASTERS as MAX_BROADCASTERS
from livestream.create_command import MAX_GUESTS as MAX_GUESTS
from livestream.create_command import MAX_PRICE as MAX_PRICE

# the profile types are declared for pydantic-core alone; the OpenAPI document's models import them from here
from livestream.profile_types import ProfilePhoto as ProfilePhoto
from livestream.profile_types import UserProfile as UserProfile

StreamStatus = Literal["scheduled", "active", "ended", "cancelled"]
Role = Literal["host", "broadcaster", "guest", "audience"]


class _Model(BaseModel):
    """Validators are built on a model's first use, not at import: each function builds only the
    models its requests use (a SnapStart snapshot has them all built: ``snapstart.prime``)."""

    model_config = ConfigDict(defer_build=True)


class UserSummary(_Model):
    """How a user appears inside a stream (``creator``, ``guests[]``, ``broadcasters[]``)."""

    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    username: Optional[str] = None
    name: Optional[str] = None
    surname: Optional[str] = None
    profilePhoto: Optional[ProfilePhoto] = None
    availabilityStatus: Optional[str] = None


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
