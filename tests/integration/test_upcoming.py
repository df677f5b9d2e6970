"""Upcoming streams v1 and v2: membership, window, order, limit, reminder flags, optional auth."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from livestream import store
from livestream.clock import iso
from tests.support import queries_in_flight_together, user_id

HOST, GUEST, CO_HOST, FAN = user_id(1), user_id(2), user_id(3), user_id(4)
V1 = "/api/v1/live-stream/user/{}/upcoming-live-streams"
V2 = "/api/v2/live-stream/user/{}/upcoming-live-streams"


def at(minutes: float) -> str:
    return iso(datetime.now(timezone.utc) + timedelta(minutes=minutes))


@pytest.fixture
def streams(api):
    for uid in (HOST, GUEST, CO_HOST, FAN):
        api.add_user(uid)
    made = {
        "soon": api.create(HOST, title="soon", plannedStartDate=at(30), guests=[GUEST]).data,
        "later": api.create(HOST, title="later", plannedStartDate=at(600)).data,
        "far": api.create(HOST, title="far", plannedStartDate=at(3 * 1440)).data,
        "live": api.create(HOST, title="live", liveStreamType="multi", broadcasters=[CO_HOST]).data,
        "cancelled": api.create(HOST, title="cancelled", plannedStartDate=at(60)).data,
        "ended": api.create(HOST, title="ended").data,
        "other": api.create(FAN, title="someone else's", plannedStartDate=at(45)).data,
    }
    api.post(f"/api/v1/live-stream/{made['cancelled']['id']}/end", user=HOST)
    api.post(f"/api/v1/live-stream/{made['ended']['id']}/end", user=HOST)
    return made


def titles(reply):
    return [s["title"] for s in reply.data]


def test_live_first_then_scheduled_in_the_window_by_planned_start(api, streams):
    reply = api.get(V2.format(HOST))
    assert reply.status == 200 and reply.function == "UpcomingV2Function"
    assert titles(reply) == ["live", "soon", "later"]


def test_guests_and_broadcasters_see_their_streams(api, streams):
    assert titles(api.get(V1.format(GUEST))) == ["soon"]
    assert titles(api.get(V1.format(CO_HOST))) == ["live"]


def test_the_window_and_limit(api, streams):
    assert titles(api.get(V1.format(HOST), query={"minutesAfter": 60})) == ["live", "soon"]
    assert titles(api.get(V1.format(HOST), query={"minutesAfter": 5 * 1440})) == ["live", "soon", "later", "far"]
    assert titles(api.get(V1.format(HOST), query={"limit": 2})) == ["live", "soon"]
    assert titles(api.get(V1.format(HOST), query={"limit": 1})) == ["live"]


def test_at_most_10_streams_by_default(api, streams):
    for n in range(10):
        api.create(HOST, title=f"extra {n}", plannedStartDate=at(100 + n))
    for path in (V1, V2):
        default = titles(api.get(path.format(HOST)))
        assert default == ["live", "soon", *(f"extra {n}" for n in range(8))]
        assert len(titles(api.get(path.format(HOST), query={"limit": 100}))) == 13


def test_minutes_before_keeps_overdue_scheduled_streams(api, people_with_overdue):
    stream_id = people_with_overdue
    assert [s["id"] for s in api.get(V1.format(HOST), query={"minutesBefore": 10}).data] == [stream_id]
    assert api.get(V1.format(HOST), query={"minutesBefore": 0}).data == []


@pytest.fixture
def people_with_overdue(api, aws):
    """A scheduled stream whose planned start was 5 minutes ago (created earlier, still not started)."""
    from livestream import store

    api.add_user(HOST)
    stream = api.create(HOST, plannedStartDate=at(1)).data
    past = at(-5)
    store.client().update_item(
        TableName=aws.table(),
        Key=store.serialize(store.member_key(stream["id"], HOST)),
        UpdateExpression="SET memberSk = :sk",
        ExpressionAttributeValues=store.values({":sk": f"S#{past}#{stream['id']}"}),
    )
    return stream["id"]


def test_v1_has_no_reminder_flag_and_v2_says_null_for_anonymous(api, streams):
    assert all("isReminderActive" not in s for s in api.get(V1.format(HOST)).data)
    assert all(s["isReminderActive"] is None for s in api.get(V2.format(HOST)).data)


def test_v2_tells_the_callers_reminders_and_role(api, streams):
    assert api.post(f"/api/v1/live-stream/{streams['later']['id']}/reminder", user=FAN).status == 200
    data = {s["title"]: s for s in api.get(V2.format(HOST), user=FAN).data}
    assert {t: s["isReminderActive"] for t, s in data.items()} == {"live": False, "soon": False, "later": True}
    assert {t: s["role"] for t, s in data.items()} == {"live": None, "soon": None, "later": None}
    mine = {s["title"]: s["role"] for s in api.get(V2.format(HOST), user=GUEST).data}
    assert mine["soon"] == "guest"


def test_an_invalid_token_is_401_even_though_auth_is_optional(api, streams):
    assert api.get(V2.format(HOST), headers={"Authorization": "Bearer nope"}).status == 401


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ({"limit": 0}, "limit: must be greater than or equal to 1"),
        ({"limit": 101}, "limit: must be less than or equal to 100"),
        ({"minutesBefore": -1}, "minutesBefore: must be greater than or equal to 0"),
        ({"minutesAfter": "soon"}, "minutesAfter: must be a whole number"),
    ],
)
def test_bad_parameters_are_400(api, streams, query, detail):
    reply = api.get(V2.format(HOST), query=query)
    assert reply.status == 400 and detail in reply.errors


def test_an_unknown_user_is_404_naming_the_user_and_a_malformed_id_400(api, streams):
    """A well-formed id the user service never synced and with no stream is 404 in the envelope,
    naming the path parameter; a malformed id is 400."""
    unknown = "f" * 24
    for path in (V1, V2):
        for caller in (FAN, None):
            reply = api.get(path.format(unknown), user=caller)
            assert reply.status == 404 and reply.errors == ["Resource not found", f"userId: no user {unknown}"], reply.json
            assert reply.json["isSuccess"] is False and reply.data is None
    assert api.get(V1.format("nope")).status == 400


def test_a_known_user_without_upcoming_streams_is_an_empty_list(api, streams):
    quiet = user_id(5)
    api.add_user(quiet)
    for path in (V1, V2):
        reply = api.get(path.format(quiet), user=FAN)
        assert reply.status == 200 and reply.data == [] and reply.errors == []
    # a synced user whose streams are all outside the window: an empty list too
    outside = api.get(V2.format(FAN), query={"minutesAfter": 1})
    assert outside.status == 200 and outside.data == []


def dynamodb_calls(api, path, **kw):
    """The DynamoDB operations one request makes."""
    made: list[str] = []

    def record(model, **_):
        made.append(model.name)

    events = store.client().meta.events
    events.register("before-call.dynamodb", record, unique_id="count-calls")
    try:
        reply = api.get(path, **kw)
    finally:
        events.unregister("before-call.dynamodb", unique_id="count-calls")
    return reply, made


def test_the_profile_is_read_only_when_the_user_has_no_listed_stream(api, streams):
    reply, made = dynamodb_calls(api, V1.format(HOST))
    assert reply.status == 200 and reply.data and "GetItem" not in made, made
    reply, made = dynamodb_calls(api, V1.format(GUEST), query={"minutesAfter": 1})  # their stream is 30 minutes away
    assert reply.status == 200 and reply.data == [] and made.count("GetItem") == 1, made
    reply, made = dynamodb_calls(api, V1.format("e" * 24))
    assert reply.status == 404 and made == ["Query", "Query", "GetItem"], made


def test_a_creator_without_a_synced_profile_lists_their_streams(api, streams):
    """create accepts a creator whose profile the user service has not synced; their upcoming list
    shows their streams with the summary the stream itself shows (the id, every other field null)."""
    unsynced = user_id(77)
    live = api.create(unsynced, title="no profile yet").data
    later = api.create(unsynced, title="tomorrow", plannedStartDate=at(600), guests=[GUEST]).data
    for path in (V1, V2):
        reply = api.get(path.format(unsynced), user=FAN)
        assert reply.status == 200, reply.json
        assert [s["id"] for s in reply.data] == [live["id"], later["id"]]
        creator = {"_id": unsynced, "username": None, "name": None, "surname": None, "profilePhoto": None, "availabilityStatus": None}
        assert all(s["creator"] == creator for s in reply.data)
        assert reply.data[0]["creator"] == api.get(f"/api/v1/live-stream/{live['id']}").data["creator"]
    # and the synced guest sees the stream they are listed in, with the same creator summary
    guest_view = {s["id"]: s for s in api.get(V1.format(GUEST)).data}
    assert guest_view[later["id"]]["creator"]["_id"] == unsynced and guest_view[later["id"]]["creator"]["username"] is None


def test_live_and_scheduled_streams_are_read_at_once_each_bounded_by_the_limit(api, streams):
    """The live and the scheduled MemberIndex ranges are queried together (one round trip's wait), each
    for at most ``limit`` entries; the page is still the live ones, then the scheduled ones that fit."""
    with queries_in_flight_together(2, "MemberIndex") as sent:
        reply = api.get(V2.format(HOST), query={"limit": 2})
    assert reply.status == 200 and titles(reply) == ["live", "soon"]
    assert [params["Limit"] for params in sent] == [2, 2]
