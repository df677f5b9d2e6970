"""Streams, user summaries and synced profiles are answered without pydantic (a function that validates
no body, or validates it with pydantic-core alone, need not load it), so each answer must be exactly
what the documented models say: a fixed point of ``models.StreamOut`` / ``models.UserSummary`` /
``profile_types.UserProfile`` (validating and dumping it changes nothing: every field present, the
right JSON types, nothing extra), for any stored stream or synced profile."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from livestream import streams, users
from livestream.models import StreamOut, UserSummary

ids = st.text("0123456789abcdef", min_size=24, max_size=24)
text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)
maybe = lambda strategy: st.none() | strategy  # noqa: E731
times = st.sampled_from(["2026-01-15T10:30:00.000Z", "2026-12-31T23:59:59.999Z"])
photos = st.fixed_dictionaries(
    {},
    optional={
        "_id": text,
        "url": text,
        "type": text,
        "variants": st.dictionaries(text.filter(bool), text, max_size=3),
        "createdAt": times,
        "updatedAt": times,
    },
)
stored_users = st.fixed_dictionaries(
    {"_id": ids},
    optional={"username": text, "name": text, "surname": text, "availabilityStatus": text, "profilePhoto": maybe(photos)},
)
stored_streams = st.fixed_dictionaries(
    {
        "id": ids,
        "title": text.filter(str.strip),
        "liveStreamType": st.sampled_from(["solo", "multi"]),
        "channelName": st.just("a-stream-x1y2z3"),
        "creatorId": ids,
        "creator": stored_users,
        "status": st.sampled_from(["scheduled", "active", "ended", "cancelled"]),
        "createdAt": times,
        "updatedAt": times,
    },
    optional={
        "guests": st.lists(stored_users, max_size=3),
        "broadcasters": st.lists(stored_users, max_size=3),
        "thumbnailUrl": text,
        "price": st.integers(1, 10000) | st.sampled_from([0.5, 9.99, 1234.56]),  # as the store reads numbers back
        "interest": text,
        "durationGoal": st.integers(1, 1440),
        "motivation": text,
        "startedAt": times,
        "plannedStartDate": times,
        "endedAt": times,
    },
)


def _round_trip(model, answer):
    return model.model_validate(answer).model_dump(mode="json", by_alias=True)


@settings(max_examples=200, deadline=None)
@given(stored_streams, st.sampled_from([None, "host", "broadcaster", "guest", "audience"]))
def test_a_stream_answer_is_exactly_the_documented_stream_object(item, role):
    answer = streams.to_api(item, role)
    assert answer == _round_trip(StreamOut, answer)
    assert json.loads(json.dumps(answer)) == answer  # plain JSON types only (no Decimal, no sets)
    assert list(answer) == list(StreamOut.model_fields)  # every field, in the documented order


@settings(max_examples=200, deadline=None)
@given(stored_users)
def test_a_user_summary_is_exactly_the_documented_summary(item):
    summary = users.summary_of(item)
    assert summary == _round_trip(UserSummary, summary)
    assert summary == _round_trip(UserSummary, {"_id": item["_id"], **{k: item.get(k) for k in users.SUMMARY_FIELDS}})


def test_a_user_not_synced_yet_is_their_id_and_nulls():
    assert users.unknown_summary("a" * 24) == {
        "_id": "a" * 24,
        "username": None,
        "name": None,
        "surname": None,
        "profilePhoto": None,
        "availabilityStatus": None,
    }


def test_a_price_read_back_as_a_whole_number_is_answered_as_a_json_number_with_decimals():
    item = {"id": "b" * 24, "title": "t", "liveStreamType": "solo", "channelName": "t-1", "creatorId": "c" * 24}
    answer = streams.to_api({**item, "creator": {"_id": "c" * 24}, "status": "active", "createdAt": "x", "updatedAt": "x", "price": 10}, None)
    assert (answer["price"], answer["accessType"]) == (10.0, "paid") and json.dumps(answer["price"]) == "10.0"


sync_photos = st.fixed_dictionaries(
    {},
    optional={
        "_id": text,
        "url": text,
        "type": text,
        "variants": st.dictionaries(text.filter(bool), text, max_size=3),
        "createdAt": st.sampled_from(["2026-01-15T10:30:00Z", "2026-01-15T13:30:00.5+03:00"]),
        "updatedAt": times,
        "unknown": text,
    },
)
sync_bodies = st.fixed_dictionaries(
    {"username": text.filter(bool), "name": text.filter(bool), "surname": text.filter(bool)},
    optional={
        "profilePhoto": maybe(sync_photos),
        "availabilityStatus": maybe(text),
        "expertise": maybe(text),
        "followersCount": st.integers(0, 2**53 - 1),
        "followingCount": st.integers(0, 2**53 - 1),
    },
)


@settings(max_examples=200, deadline=None)
@given(ids, sync_bodies)
def test_a_synced_profile_is_answered_as_exactly_the_documented_profile(user_id, body):
    from pydantic import TypeAdapter

    from livestream.profile_types import UserProfile, UserProfileIn

    answer = users.profile_answer(user_id, UserProfileIn.validate(body))
    documented = TypeAdapter(UserProfile)
    assert answer == documented.dump_python(documented.validate_python(answer), mode="json", by_alias=True)
    assert json.loads(json.dumps(answer)) == answer
    assert list(answer) == list(documented.json_schema()["properties"])  # every field, in the documented order
    assert answer["_id"] == user_id and (answer["profilePhoto"] is None or list(answer["profilePhoto"]) == list(users.PHOTO_FIELDS))
