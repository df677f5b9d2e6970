"""User profiles (``USER#<id>`` / ``PROFILE``) and follow edges (``USER#<id>`` / ``FOLLOWS#<targetId>``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from livestream import store


def put_profile(user_id: str, profile: Mapping[str, Any]) -> None:
    """Create or replace a profile (one PutItem)."""
    store.client().put_item(TableName=store.table(), Item=store.serialize({**store.profile_key(user_id), **profile}))


def profiles(user_ids: Iterable[str]) -> list[dict[str, Any]]:
    """The profiles that exist among ``user_ids`` (one BatchGetItem per 100)."""
    return store.batch_get(store.profile_key(u) for u in user_ids)


def put_follow(user_id: str, target_id: str, followed_at: str) -> None:
    store.client().put_item(TableName=store.table(), Item=store.serialize({**store.follow_key(user_id, target_id), "followedAt": followed_at}))


def delete_follow(user_id: str, target_id: str) -> None:
    store.client().delete_item(TableName=store.table(), Key=store.serialize(store.follow_key(user_id, target_id)))
