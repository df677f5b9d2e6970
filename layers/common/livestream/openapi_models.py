"""Response shapes of every endpoint, as pydantic models, for the OpenAPI document.

The functions build their answers with :mod:`livestream.models` and plain dicts (cheaper at cold
start); these models describe the same shapes, and the contract tests validate real answers
against the generated document, so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from livestream.ids import ID_PATTERN
from livestream.models import MAX_BROADCASTERS, MAX_GUESTS, MAX_PRICE, ProfilePhoto, Role, StreamOut, UserProfile, UserSummary


class ErrorEnvelope(BaseModel):
    isSuccess: Literal[False]
    statusCode: int
    data: None
    errors: list[str]
    timestamp: str


class Agora(BaseModel):
    appId: str
    channelName: str
    token: str = Field(description="RTC token: publisher for host, broadcaster and guest; subscriber for the audience")
    uid: int = Field(ge=1, le=2**32 - 1, description="The caller's uid in the stream: the same on every rejoin and renewal")
    role: Role
    expiresAt: str


class Rtm(BaseModel):
    appId: str
    channelName: str
    userId: str
    token: str
    expiresAt: str


class Joined(BaseModel):
    liveStream: StreamOut
    agora: Agora
    rtm: Rtm


class Left(BaseModel):
    liveStreamId: str
    userId: str
    left: bool = Field(description="false when the caller was not in the stream (a no-op)")


class Viewer(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    username: Optional[str]
    name: Optional[str]
    surname: Optional[str]
    profilePhoto: Optional[ProfilePhoto]
    followersCount: int
    followingCount: int
    expertise: Optional[str]
    isFollowing: bool
    joinedAt: str


class Pagination(BaseModel):
    currentPage: int
    totalPages: int
    totalItems: int
    itemsPerPage: int
    hasNextPage: bool
    hasPrevPage: bool


class ViewersPage(BaseModel):
    list: list[Viewer]
    pagination: Pagination
    participantAudienceTotal: int = Field(description="The current audience, whatever the search")


class UpcomingStream(StreamOut):
    isReminderActive: Optional[bool] = Field(description="v2 only: null for anonymous callers")


class ReminderState(BaseModel):
    liveStreamId: str
    userId: str
    isReminderActive: bool


class FollowEdge(BaseModel):
    userId: str
    targetUserId: str
    isFollowing: bool


class AccessGrant(BaseModel):
    liveStreamId: str
    userId: str
    hasAccess: bool


class LiveEvent(BaseModel):
    created_at: int
    created_by: str
    cumulative_participant_count: int
    custom_items: dict[str, Any]
    duration: int = Field(description="milliseconds")
    ended_at: Optional[int]
    ended_by: str
    host: None
    host_type: Literal["single_host", "multi_host"]
    is_host_streaming: bool
    live_event_id: str
    participant_count: int
    peak_participant_count: int
    set_ready_at: Optional[int]
    set_ready_by: str
    started_at: Optional[int]
    started_by: str
    state: Literal["created", "ready", "ongoing", "ended"]
    user_ids_for_host: list[str]
    title: str


class LiveEventsPage(BaseModel):
    live_events: list[LiveEvent]
    next: Optional[str]
    prev: Optional[str]


class PlatformError(BaseModel):
    error: Literal[True]
    code: int = Field(description="400100 invalid parameter, 400111 missing parameter, 401121 not authorized")
    message: str


class AgoraNotificationOutcome(BaseModel):
    noticeId: str
    eventType: int
    outcome: Literal["applied", "duplicate", "stale", "ignored"] = Field(
        description="applied; duplicate (this noticeId was applied before); stale (older than the participant's state); "
        "ignored (an event type, channel or uid this service does not know)"
    )
    reason: Optional[str] = None
    liveStreamId: Optional[str] = None
    userId: Optional[str] = None
    left: Optional[int] = Field(None, description="102 channel destroy: how many participants it removed")


# ---------------------------------------------------------------- request bodies the resolvers do not declare

UserIdText = Field(pattern=ID_PATTERN)
_TITLE = Field(
    min_length=1,
    max_length=120,
    description="1–120 characters after trimming, at least one visible; no control characters",
    examples=["Yeni ürün tanıtımı"],
)
_INTEREST = Field(None, max_length=50, description="At most 50 characters", examples=["music"])
_MOTIVATION = Field(None, max_length=1000, description="At most 1000 characters; may hold line breaks and tabs")
_PLANNED_DESCRIPTION = "ISO 8601, not in the past, at most 90 days ahead; absent: the stream is live now"
_PLANNED_EXAMPLES = ["2026-01-15T18:00:00.000Z"]
_PLANNED = Field(None, description=_PLANNED_DESCRIPTION, examples=_PLANNED_EXAMPLES)


class CreateStreamForm(BaseModel):
    """``POST /api/v1/live-stream/create`` as ``multipart/form-data``: every field is text."""

    title: str = _TITLE
    liveStreamType: Optional[Literal["solo", "multi"]] = Field(None, description="solo (default) or multi")
    guests: Optional[str] = Field(
        None,
        description=f"A JSON array of distinct existing user ids, at most {MAX_GUESTS}, not the creator",
        examples=['["64d15f9e2e6c8f4d5a123457"]'],
    )
    broadcasters: Optional[str] = Field(
        None, description=f"A JSON array of user ids (multi streams only), at most {MAX_BROADCASTERS}, none of them a guest", examples=["[]"]
    )
    price: Optional[str] = Field(
        None,
        pattern=r"^[0-9]{1,5}(\.[0-9]{1,2})?$",
        description=f"ASCII decimal, positive, at most 2 decimals, at most {MAX_PRICE}; makes the stream paid",
        examples=["9.99"],
    )
    durationGoal: Optional[str] = Field(None, pattern=r"^[0-9]{1,4}$", description="ASCII digits: whole minutes, 1–1440", examples=["60"])
    motivation: Optional[str] = _MOTIVATION
    interest: Optional[str] = _INTEREST
    plannedStartDate: Optional[str] = Field(
        None, json_schema_extra={"format": "date-time"}, description=_PLANNED_DESCRIPTION, examples=_PLANNED_EXAMPLES
    )
    thumbnail: Optional[bytes] = Field(
        None,
        json_schema_extra={"format": "binary"},
        description=(
            "A JPEG, PNG or WebP image that decodes as one, at most 4 MiB and 40 megapixels; "
            "stored re-encoded: upright, without metadata, longest side at most 1920 px"
        ),
    )


class CreateStreamJson(BaseModel):
    """``POST /api/v1/live-stream/create`` as ``application/json`` (no thumbnail): exact JSON types."""

    title: str = _TITLE
    liveStreamType: Literal["solo", "multi"] = "solo"
    guests: list[Annotated[str, UserIdText]] = Field(default_factory=list, max_length=MAX_GUESTS, json_schema_extra={"uniqueItems": True})
    broadcasters: list[Annotated[str, UserIdText]] = Field(default_factory=list, max_length=MAX_BROADCASTERS, json_schema_extra={"uniqueItems": True})
    price: Optional[float] = Field(
        None, gt=0, le=float(MAX_PRICE), multiple_of=0.01, description="At most 2 decimals; makes the stream paid", examples=[9.99]
    )
    durationGoal: Optional[int] = Field(None, ge=1, le=1440, description="Whole minutes", examples=[60])
    motivation: Optional[str] = _MOTIVATION
    interest: Optional[str] = _INTEREST
    plannedStartDate: Optional[datetime] = _PLANNED


REQUEST_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("/api/v1/live-stream/create", "POST"): {"multipart/form-data": CreateStreamForm, "application/json": CreateStreamJson},
}


DATA_MODELS: dict[str, Any] = {
    "Stream": StreamOut,
    "Joined": Joined,
    "Left": Left,
    "ViewersPage": ViewersPage,
    "UpcomingStreams": list[UpcomingStream],
    "UpcomingStreamsV1": list[StreamOut],
    "ReminderState": ReminderState,
    "UserProfile": UserProfile,
    "FollowEdge": FollowEdge,
    "AccessGrant": AccessGrant,
    "LiveEventsPage": LiveEventsPage,
    "UserSummary": UserSummary,
    "AgoraNotificationOutcome": AgoraNotificationOutcome,
}
