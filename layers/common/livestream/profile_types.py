"""A user's profile as the user service syncs it (``PUT /internal/v1/users/{userId}``) and as it is
answered: request types validated by pydantic-core alone (:mod:`livestream.schemas`), so that the
sync loads no pydantic; the OpenAPI document reads the same declarations.

- :class:`ProfilePhoto`: the photo as stored and shown (inside a user summary, a viewer, a profile);
- :class:`ProfilePhotoIn`: the photo a sync sends, its times converted to the API's format;
- :class:`UserProfileIn`: the sync's body (exact JSON types, no unknown field);
- :class:`UserProfile`: the answer, the profile with its ``_id`` (documented; the function builds it
  as a plain dict, ``users.profile_answer``).
"""

from __future__ import annotations

from typing import Any, Optional

from pydantic_core import core_schema as cs

from livestream.ids import ID_PATTERN
from livestream.rules import api_time
from livestream.schemas import Validated, field, text

MAX_COUNT = 2**53 - 1
MAX_VARIANTS = 20


def _optional(schema: cs.CoreSchema) -> cs.ModelField:
    return field(cs.nullable_schema(schema), default=None)


def api_time_text() -> cs.CoreSchema:
    """A timestamp a sync brings in (text of at most 64 characters), kept and answered as
    ``2026-01-15T10:30:00.000Z``."""
    return cs.no_info_after_validator_function(api_time, text(max_length=64), metadata={"pydantic_js_updates": {"format": "date-time"}})


def count() -> cs.CoreSchema:
    """A follower or following count: a JSON whole number, 0 to 2**53 - 1 (exact in every client)."""
    return cs.int_schema(strict=True, ge=0, le=MAX_COUNT)


class _JsonFields:
    """What a JSON answer holds of a validated type: every field under its alias, nested types too."""

    @classmethod
    def fields(cls) -> dict[str, cs.ModelField]:
        raise NotImplementedError

    def as_json(self) -> dict[str, Any]:
        shown = {}
        for name, declared in self.fields().items():
            value = getattr(self, name)
            shown[declared.get("serialization_alias") or name] = value.as_json() if isinstance(value, _JsonFields) else value
        return shown


# documented without a description (a class's docstring would be its description in the OpenAPI document)
class ProfilePhoto(_JsonFields, Validated):
    # a user's profile photo, as stored and answered: fields it does not know are dropped
    config = cs.CoreConfig(extra_fields_behavior="ignore", validate_by_name=True, validate_by_alias=True)

    id: Optional[str]
    url: Optional[str]
    type: Optional[str]
    variants: dict[str, str]
    createdAt: Optional[str]
    updatedAt: Optional[str]

    @classmethod
    def fields(cls) -> dict[str, cs.ModelField]:
        # a key of ``variants`` is stored as a map key, which DynamoDB needs to be at least a character
        variants = cs.dict_schema(text(min_length=1, max_length=50), text(max_length=2048), max_length=MAX_VARIANTS)
        return {
            "id": field(cs.nullable_schema(text(max_length=64)), default=None, alias="_id"),
            "url": _optional(text(max_length=2048)),
            "type": _optional(text(max_length=50)),
            "variants": field(variants, default_factory=dict),
            "createdAt": _optional(text(max_length=64)),
            "updatedAt": _optional(text(max_length=64)),
        }


class ProfilePhotoIn(ProfilePhoto):
    """``profilePhoto`` as a profile sync sends it: its times converted to the API's format."""

    @classmethod
    def fields(cls) -> dict[str, cs.ModelField]:
        return {**super().fields(), "createdAt": _optional(api_time_text()), "updatedAt": _optional(api_time_text())}


class UserProfileIn(_JsonFields, Validated):
    """Body of ``PUT /internal/v1/users/{userId}`` (the user service's profile sync)."""

    config = cs.CoreConfig(strict=True, extra_fields_behavior="forbid")

    username: str
    name: str
    surname: str
    profilePhoto: Optional[ProfilePhotoIn]
    availabilityStatus: Optional[str]
    expertise: Optional[str]
    followersCount: int
    followingCount: int

    @classmethod
    def fields(cls) -> dict[str, cs.ModelField]:
        return {
            "username": field(text(min_length=1, max_length=64)),
            "name": field(text(min_length=1, max_length=100)),
            "surname": field(text(min_length=1, max_length=100)),
            "profilePhoto": field(cs.nullable_schema(ProfilePhotoIn.core_schema()), default=None),
            "availabilityStatus": _optional(text(max_length=50)),
            "expertise": _optional(text(max_length=200)),
            "followersCount": field(count(), default=0),
            "followingCount": field(count(), default=0),
        }


class UserProfile(UserProfileIn):
    # answered by the sync (no description in the OpenAPI document): the profile as stored, with its ``_id``
    config = cs.CoreConfig(extra_fields_behavior="ignore", validate_by_name=True, validate_by_alias=True)

    @classmethod
    def fields(cls) -> dict[str, cs.ModelField]:
        return {**super().fields(), "id": field(cs.str_schema(pattern=ID_PATTERN), alias="_id")}

    id: str
