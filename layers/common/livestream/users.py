"""User profiles and follow edges, as synced by the platform's user service."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Optional

from livestream.clock import iso, now
from livestream.errors import NotFound, field_error
from livestream.slug import fold
from livestream.store import users as stored

if TYPE_CHECKING:
    from livestream.profile_types import UserProfileIn

SUMMARY_FIELDS = ("username", "name", "surname", "profilePhoto", "availabilityStatus")
PHOTO_FIELDS = ("_id", "url", "type", "variants", "createdAt", "updatedAt")


def upsert_profile(user_id: str, profile: UserProfileIn) -> dict[str, Any]:
    """Create or replace a profile (one PutItem). ``searchText`` is kept folded for viewer search.
    Answers :func:`profile_answer`."""
    data = profile.as_json()
    timestamp = iso(now())
    item = {
        **{k: v for k, v in data.items() if v is not None},
        "_id": user_id,
        "searchText": fold(" ".join([profile.name, profile.surname, profile.username])),
        "updatedAt": timestamp,
    }
    stored.put_profile(user_id, item)
    return profile_answer(user_id, profile)


def profile_answer(user_id: str, profile: UserProfileIn) -> dict[str, Any]:
    """The profile as the sync answers it (``profile_types.UserProfile``): every field present, null
    when not sent, the photo's too, then its ``_id``. Built by hand, not through pydantic
    (``tests/unit/test_shapes.py`` checks each answer is a fixed point of the model)."""
    return {**profile.as_json(), "_id": user_id}


def summaries(user_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """User summaries by id for the profiles that exist (one BatchGetItem, at most 100 ids)."""
    items = stored.profiles(user_ids)
    return {item["_id"]: summary_of(item) for item in items}


def summary_of(item: Mapping[str, Any]) -> dict[str, Any]:
    """A user as streams show them (``models.UserSummary``), from a stored profile or a stored summary:
    every field present, null when unknown. Built by hand, not through pydantic: answering a stream
    needs no model (``tests/unit/test_shapes.py`` checks each answer is a fixed point of the model)."""
    summary = {"_id": item["_id"], **{key: item.get(key) for key in SUMMARY_FIELDS}}
    summary["profilePhoto"] = _photo(summary["profilePhoto"])
    return summary


def _photo(photo: Optional[Mapping[str, Any]]) -> Optional[dict[str, Any]]:
    if photo is None:
        return None
    shaped = {key: photo.get(key) for key in PHOTO_FIELDS}
    shaped["variants"] = dict(photo.get("variants") or {})
    return shaped


def unknown_summary(user_id: str) -> dict[str, Any]:
    """The summary of a user whose profile has not been synced yet: the id, every other field null."""
    return summary_of({"_id": user_id})


def follow(user_id: str, target_id: str) -> dict[str, Any]:
    """``user_id`` follows ``target_id``, both synced (404 naming the one who is not); repeating it is harmless."""
    _not_self(user_id, target_id)
    _both_known(user_id, target_id, stored.put_follow(user_id, target_id, iso(now()) or ""))
    return {"userId": user_id, "targetUserId": target_id, "isFollowing": True}


def unfollow(user_id: str, target_id: str) -> dict[str, Any]:
    """``user_id`` no longer follows ``target_id`` (following or not), both synced (404 naming the one who is not)."""
    _not_self(user_id, target_id)
    _both_known(user_id, target_id, stored.delete_follow(user_id, target_id))
    return {"userId": user_id, "targetUserId": target_id, "isFollowing": False}


def _both_known(user_id: str, target_id: str, missing: list[str]) -> None:
    if missing:
        named = {"user": f"userId: no user {user_id}", "target": f"targetUserId: no user {target_id}"}
        raise NotFound(*(named[who] for who in missing))


def _not_self(user_id: str, target_id: str) -> None:
    if user_id == target_id:
        raise field_error("targetUserId", "a user cannot follow themselves")
