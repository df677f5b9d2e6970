"""The server-to-server sync endpoints: user profiles, follow edges, paid-access grants."""

from __future__ import annotations

import pytest

from livestream import store
from tests.support import API_TOKEN, user_id

ALICE, BOB = user_id(10), user_id(11)
PHOTO = {
    "_id": "507f1f77bcf86cd799439012",
    "url": "https://example.com/uploads/images/profile.jpg",
    "type": "image",
    "variants": {"40": "https://cdn.example.com/profiles/user/40.webp", "76": "https://cdn.example.com/profiles/user/76.webp"},
    "createdAt": "2024-01-15T10:30:00.000Z",
    "updatedAt": "2024-01-15T12:30:00.000Z",
}


def test_upsert_profile_answers_it_with_its_id(api, aws):
    body = {"username": "johndoe", "name": "John", "surname": "Doe", "profilePhoto": PHOTO, "availabilityStatus": "available",
            "expertise": "designer", "followersCount": 42, "followingCount": 17}  # fmt: skip
    reply = api.put(f"/internal/v1/users/{ALICE}", json_body=body, api_token=API_TOKEN)
    assert reply.status == 200 and reply.function == "UpsertUserFunction"
    assert reply.data == {**body, "_id": ALICE}
    again = api.put(f"/internal/v1/users/{ALICE}", json_body={**body, "name": "Johnny"}, api_token=API_TOKEN)
    assert again.data["name"] == "Johnny"
    stream = api.create(ALICE).data
    assert stream["creator"] == {"_id": ALICE, "username": "johndoe", "name": "Johnny", "surname": "Doe", "profilePhoto": PHOTO,
                                 "availabilityStatus": "available"}  # fmt: skip


def test_profile_photo_times_are_answered_in_the_api_time_format(api, aws):
    """Every timestamp the API shows is ISO 8601 UTC with milliseconds and Z, also the ones a profile
    sync brings: another offset or precision is converted, anything else is 400 naming the field."""
    photo = {**PHOTO, "createdAt": "2024-01-15T13:30:00+03:00", "updatedAt": "2024-01-15T12:30:00.123456Z"}
    reply = api.put(
        f"/internal/v1/users/{ALICE}", json_body={"username": "u", "name": "a", "surname": "b", "profilePhoto": photo}, api_token=API_TOKEN
    )
    assert reply.status == 200
    converted = {"createdAt": "2024-01-15T10:30:00.000Z", "updatedAt": "2024-01-15T12:30:00.123Z"}
    assert {k: reply.data["profilePhoto"][k] for k in converted} == converted
    creator = api.create(ALICE).data["creator"]["profilePhoto"]
    assert {k: creator[k] for k in converted} == converted
    for bad in ("yesterday", "2024-01-15", "1705314600", "2024-13-01T00:00:00Z"):
        body = {"username": "u", "name": "a", "surname": "b", "profilePhoto": {**PHOTO, "createdAt": bad}}
        reply = api.put(f"/internal/v1/users/{ALICE}", json_body=body, api_token=API_TOKEN)
        assert reply.status == 400 and "profilePhoto.createdAt: must be an ISO 8601 date-time" in reply.errors, (bad, reply.errors)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"name": "a", "surname": "b"}, "username: field required"),
        ({"username": "", "name": "a", "surname": "b"}, "username: must not be empty"),
        ({"username": "u", "name": "a", "surname": "b", "followersCount": -1}, "followersCount: must be greater than or equal to 0"),
        ({"username": "u", "name": "a", "surname": "b", "role": "admin"}, "role: is not a known field"),
        # an empty map key: DynamoDB names need a character (the local emulation stored it, then could not
        # serve the profile or the table's stream records back)
        ({"username": "u", "name": "a", "surname": "b", "profilePhoto": {"variants": {"": "x"}}}, "profilePhoto.variants.[key]: must not be empty"),
    ],
)
def test_invalid_profiles_are_400(api, aws, body, detail):
    reply = api.put(f"/internal/v1/users/{ALICE}", json_body=body, api_token=API_TOKEN)
    assert reply.status == 400 and detail in reply.errors


@pytest.mark.parametrize("token", [None, "wrong-token", API_TOKEN + "x"])
def test_internal_endpoints_need_the_api_token(api, aws, token):
    for method, path in [
        ("PUT", f"/internal/v1/users/{ALICE}"),
        ("PUT", f"/internal/v1/users/{ALICE}/following/{BOB}"),
        ("DELETE", f"/internal/v1/users/{ALICE}/following/{BOB}"),
        ("PUT", f"/internal/v1/live-stream/{'a' * 24}/access/{ALICE}"),
    ]:
        reply = api.request(method, path, json_body={"username": "u", "name": "n", "surname": "s"}, api_token=token)
        assert reply.status == 401 and reply.errors[0] == "Authentication required", (method, path)


def test_a_user_jwt_is_not_an_api_token(api, aws):
    reply = api.put(f"/internal/v1/users/{ALICE}", json_body={"username": "u", "name": "n", "surname": "s"}, user=ALICE)
    assert reply.status == 401


def test_follow_edges_are_idempotent(api, aws):
    api.add_user(ALICE)
    api.add_user(BOB)
    path = f"/internal/v1/users/{ALICE}/following/{BOB}"
    for _ in range(2):
        reply = api.put(path, api_token=API_TOKEN)
        assert reply.status == 200 and reply.data == {"userId": ALICE, "targetUserId": BOB, "isFollowing": True}
        assert store.get(store.follow_key(ALICE, BOB)) is not None
    assert store.get(store.follow_key(BOB, ALICE)) is None
    for _ in range(2):
        reply = api.delete(path, api_token=API_TOKEN)
        assert reply.status == 200 and reply.data["isFollowing"] is False
        assert store.get(store.follow_key(ALICE, BOB)) is None


NOBODY, NO_ONE = user_id(98), user_id(99)


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
@pytest.mark.parametrize(
    ("follower", "target", "details"),
    [
        (ALICE, NOBODY, [f"targetUserId: no user {NOBODY}"]),
        (NOBODY, ALICE, [f"userId: no user {NOBODY}"]),
        (NOBODY, NO_ONE, [f"userId: no user {NOBODY}", f"targetUserId: no user {NO_ONE}"]),
    ],
)
def test_following_with_an_unknown_user_is_404_naming_them_and_writes_nothing(api, aws, method, follower, target, details):
    """Both users must have been synced: a well-formed id without a profile is 404, in the envelope,
    naming the path parameter; no edge is written."""
    api.add_user(ALICE)
    reply = api.request(method, f"/internal/v1/users/{follower}/following/{target}", api_token=API_TOKEN)
    assert reply.status == 404 and reply.errors == ["Resource not found", *details], reply.json
    assert reply.json["isSuccess"] is False and reply.data is None
    assert store.get(store.follow_key(follower, target)) is None


def test_following_oneself_and_malformed_ids_are_400(api, aws):
    assert api.put(f"/internal/v1/users/{ALICE}/following/{ALICE}", api_token=API_TOKEN).status == 400
    reply = api.put(f"/internal/v1/users/{ALICE}/following/BOB", api_token=API_TOKEN)
    assert reply.status == 400 and "targetUserId: must be a 24-character lowercase hex id" in reply.errors


def test_access_grants(api, aws):
    api.add_user(ALICE)
    api.add_user(BOB)
    stream = api.create(ALICE, price=4.99).data
    path = f"/internal/v1/live-stream/{stream['id']}/access/{BOB}"
    for _ in range(2):
        reply = api.put(path, api_token=API_TOKEN)
        assert reply.status == 200 and reply.data == {"liveStreamId": stream["id"], "userId": BOB, "hasAccess": True}
    assert store.get(store.access_key(stream["id"], BOB))["grantedAt"]
    unknown_user = api.put(f"/internal/v1/live-stream/{stream['id']}/access/{NOBODY}", api_token=API_TOKEN)
    assert unknown_user.status == 404 and unknown_user.errors == ["Resource not found", f"userId: no user {NOBODY}"]
    assert store.get(store.access_key(stream["id"], NOBODY)) is None
    unknown_stream = api.put(f"/internal/v1/live-stream/{'e' * 24}/access/{BOB}", api_token=API_TOKEN)
    assert unknown_stream.status == 404 and unknown_stream.errors == ["Resource not found", f"id: no stream {'e' * 24}"]
    assert store.get(store.access_key("e" * 24, BOB)) is None
