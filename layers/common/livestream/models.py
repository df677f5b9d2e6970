"""Pydantic models: what requests are validated into, and the stream object every stream endpoint answers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Annotated, Any, Literal, Optional

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, ValidationInfo, field_validator, model_validator

from livestream.clock import now
from livestream.ids import ID_PATTERN, is_id
from livestream.rules import ISO_DATE_TIME, api_time, check_text, has_visible_character

StreamStatus = Literal["scheduled", "active", "ended", "cancelled"]
Role = Literal["host", "broadcaster", "guest", "audience"]

MAX_GUESTS = 10
MAX_BROADCASTERS = 5
MAX_PRICE = Decimal("10000")
CLOCK_SKEW = timedelta(minutes=1)
MAX_SCHEDULE_AHEAD = timedelta(days=90)
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


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _is_form(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("form"))


_ASCII_WHOLE = re.compile(r"[0-9]{1,6}")
_ASCII_DECIMAL = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,9})?")


def _distinct_ids(value: list[Any]) -> list[str]:
    bad = [v for v in value if not is_id(v)]
    if bad:
        shown = bad[0] if isinstance(bad[0], str) and len(bad[0]) <= 40 else type(bad[0]).__name__
        raise ValueError(f"{shown!r} is not a user id (24 lowercase hex characters)")
    if len(set(value)) != len(value):
        raise ValueError("must not contain the same user twice")
    return value


def _form_json_array(text: str) -> Any:
    """A multipart field holding a JSON array, parsed as strictly as a JSON body."""
    from livestream.api import strict_json
    from livestream.errors import ApiError

    try:
        return strict_json(text)
    except ApiError:
        raise ValueError("must be a JSON array of user ids") from None


class CreateStreamCommand(_Model):
    """The create body, multipart or JSON, with every rule of the create section of docs/api.md.

    Validated with ``context={"form": True}`` for multipart (every value is text: numbers must be
    plain ASCII decimals, ``guests``/``broadcasters`` a JSON array in a string), else as JSON (types
    are exact: a number is a JSON number, a list a JSON array, a string a JSON string)."""

    model_config = ConfigDict(extra="ignore")

    title: str
    liveStreamType: Literal["solo", "multi"] = "solo"
    guests: list[str] = Field(default_factory=list)
    broadcasters: list[str] = Field(default_factory=list)
    price: Optional[Decimal] = Field(None, gt=0, le=MAX_PRICE, decimal_places=2)
    durationGoal: Optional[int] = Field(None, ge=1, le=1440)
    motivation: Optional[str] = Field(None, max_length=1000)
    interest: Optional[str] = Field(None, max_length=50)
    plannedStartDate: Optional[datetime] = None

    @field_validator("title", mode="before")
    @classmethod
    def _title(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("field required")
        if not isinstance(value, str):
            raise ValueError("must be a string")
        value = check_text(value).strip()
        if not value or not has_visible_character(value):
            raise ValueError("must not be empty")  # zero-width and format characters alone are empty
        if len(value) > 120:
            raise ValueError("must be at most 120 characters")
        return value

    @field_validator("motivation", "interest", "plannedStartDate", "liveStreamType", mode="before")
    @classmethod
    def _text(cls, value: Any, info: ValidationInfo) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return "solo" if info.field_name == "liveStreamType" else None
        if not isinstance(value, str):
            raise ValueError("must be an ISO 8601 date-time" if info.field_name == "plannedStartDate" else "must be a string")
        value = check_text(value, line_breaks=info.field_name == "motivation")
        if info.field_name == "plannedStartDate" and not ISO_DATE_TIME.match(value):
            raise ValueError("must be an ISO 8601 date-time")
        return value

    @field_validator("durationGoal", mode="before")
    @classmethod
    def _whole_minutes(cls, value: Any, info: ValidationInfo) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return None
        if _is_form(info):
            if not isinstance(value, str) or not _ASCII_WHOLE.fullmatch(value):
                raise ValueError("must be a whole number written in ASCII digits")
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError("must be a whole number")
        return value

    @field_validator("price", mode="before")
    @classmethod
    def _price(cls, value: Any, info: ValidationInfo) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return None
        if _is_form(info):
            if not isinstance(value, str) or not _ASCII_DECIMAL.fullmatch(value):
                raise ValueError("must be a decimal number written in ASCII digits, like 9.99")
            return Decimal(value)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ValueError("must be a number")
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise ValueError("must be a number") from None

    @field_validator("guests", "broadcasters", mode="before")
    @classmethod
    def _id_list(cls, value: Any, info: ValidationInfo) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return []
        if _is_form(info) and isinstance(value, str):
            value = _form_json_array(value)
        if not isinstance(value, list):
            raise ValueError("must be a JSON array of user ids")
        return _distinct_ids(value)

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
        try:
            value = value.astimezone(UTC)
        except OverflowError:  # 9999-12-31T23:00:00-05:00 lies beyond year 9999 in UTC
            raise ValueError("is out of range") from None
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
