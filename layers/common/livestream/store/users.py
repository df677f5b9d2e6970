"""User profiles (``USER#<id>`` / ``PROFILE``) and follow edges (``USER#<id>`` / ``FOLLOWS#<targetId>``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from livestream import store
from livestream.store import ConditionCheck, Delete, Put


def put_profile(user_id: str, profile: Mapping[str, Any]) -> None:
    """Create or replace a profile (one PutItem)."""
    store.client().put_item(TableName=store.table(), Item=store.serialize({**store.profile_key(user_id), **profile}))


def profiles(user_ids: Iterable[str]) -> list[dict[str, Any]]:
    """The profiles that exist among ``user_ids`` (one BatchGetItem per 100)."""
    return store.batch_get(store.profile_key(u) for u in user_ids)


def profile_exists(user_id: str) -> bool:
    """Whether the user service has synced ``user_id``'s profile (one eventually consistent GetItem of its key)."""
    response = store.client().get_item(TableName=store.table(), Key=store.serialize(store.profile_key(user_id)), ProjectionExpression="pk")
    return "Item" in response


def put_follow(user_id: str, target_id: str, followed_at: str) -> list[str]:
    """Record that ``user_id`` follows ``target_id`` if both profiles exist (one transaction);
    answers which of ``"user"`` / ``"target"`` has no profile (nothing written then)."""
    return _with_both_profiles(user_id, target_id, Put({**store.follow_key(user_id, target_id), "followedAt": followed_at}))


def delete_follow(user_id: str, target_id: str) -> list[str]:
    """Remove the follow edge (absent or not) if both profiles exist (one transaction); answers as :func:`put_follow`."""
    return _with_both_profiles(user_id, target_id, Delete(store.follow_key(user_id, target_id)))


def _with_both_profiles(user_id: str, target_id: str, edge: Put | Delete) -> list[str]:
    exists = "attribute_exists(pk)"
    codes = store.transact_codes([ConditionCheck(store.profile_key(user_id), exists), ConditionCheck(store.profile_key(target_id), exists), edge])
    # [] when written; else the reason per item, in order: the two checks, then the edge
    return [who for who, code in zip(("user", "target"), codes, strict=False) if code == "ConditionalCheckFailed"]
