"""GET /v1/live-events: every filter of the live platform's API, alone and combined; cursors; errors."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from livestream import store
from livestream.clock import iso
from tests.support import API_TOKEN, queries_in_flight_together, user_id

ALICE, BOB, CAROL = user_id(1), user_id(2), user_id(3)
VIEWERS = [user_id(100 + n) for n in range(4)]
PATH = "/v1/live-events"


def events(api, **query):
    reply = api.get(PATH, query=query or None, api_token=API_TOKEN)
    assert reply.status == 200, reply.json
    return reply


def ids(reply):
    return [e["live_event_id"] for e in reply.json["live_events"]]


def at(minutes):
    return iso(datetime.now(timezone.utc) + timedelta(minutes=minutes))


@pytest.fixture
def world(api):
    """Streams in every state; each made a few ms apart so creation times order them."""
    for uid in (ALICE, BOB, CAROL, *VIEWERS):
        api.add_user(uid)
    made = {}

    def create(name, who, **fields):
        time.sleep(0.003)
        made[name] = api.create(who, title=name, **fields).data
        return made[name]

    create("Alice Morning Live", ALICE)  # ongoing, solo
    create("Bob Duo Show", BOB, liveStreamType="multi", broadcasters=[CAROL])  # ongoing, multi
    create("alice later", ALICE, plannedStartDate=at(120))  # created
    create("Carol Cancelled", CAROL, plannedStartDate=at(60))  # → ended (cancelled)
    create("Bob Finished", BOB)  # → ended
    create("Alice Second Live", ALICE)  # ongoing
    api.post(f"/api/v1/live-stream/{made['Carol Cancelled']['id']}/end", user=CAROL)
    api.post(f"/api/v1/live-stream/{made['Bob Finished']['id']}/end", user=BOB)
    for viewer in VIEWERS[:3]:
        api.post("/api/v1/live-stream/join-as-audience", json_body={"liveStreamId": made["Alice Morning Live"]["id"]}, user=viewer)
    api.post("/api/v1/live-stream/join-as-audience", json_body={"liveStreamId": made["Bob Duo Show"]["id"]}, user=VIEWERS[3])
    api.post("/api/v1/live-stream/join-as-broadcaster", json_body={"liveStreamId": made["Bob Duo Show"]["id"]}, user=CAROL)
    api.settle()  # the audience counters have caught up
    return {name: s["id"] for name, s in made.items()}


NEWEST_FIRST = ["Alice Second Live", "Bob Finished", "Carol Cancelled", "alice later", "Bob Duo Show", "Alice Morning Live"]


def test_everything_newest_first_in_the_platform_shape(api, world):
    reply = events(api)
    assert reply.function == "ListLiveEventsFunction"
    assert set(reply.json) == {"live_events", "next", "prev"} and reply.json["next"] is None and reply.json["prev"] is None
    assert ids(reply) == [world[n] for n in NEWEST_FIRST]
    event = next(e for e in reply.json["live_events"] if e["live_event_id"] == world["Alice Morning Live"])
    assert set(event) == {
        "created_at", "created_by", "cumulative_participant_count", "custom_items", "duration", "ended_at", "ended_by", "host",
        "host_type", "is_host_streaming", "live_event_id", "participant_count", "peak_participant_count", "set_ready_at",
        "set_ready_by", "started_at", "started_by", "state", "user_ids_for_host", "title",
    }  # fmt: skip
    assert event["state"] == "ongoing" and event["host_type"] == "single_host" and event["created_by"] == ALICE
    assert (event["participant_count"], event["peak_participant_count"], event["cumulative_participant_count"]) == (3, 3, 3)
    assert isinstance(event["created_at"], int) and event["ended_at"] is None and event["duration"] >= 0
    duo = next(e for e in reply.json["live_events"] if e["live_event_id"] == world["Bob Duo Show"])
    assert duo["host_type"] == "multi_host" and duo["user_ids_for_host"] == [BOB, CAROL] and duo["participant_count"] == 1
    finished = next(e for e in reply.json["live_events"] if e["live_event_id"] == world["Bob Finished"])
    assert finished["state"] == "ended" and finished["ended_at"] >= finished["started_at"] and finished["ended_by"] == BOB
    assert finished["duration"] == finished["ended_at"] - finished["started_at"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"state": "ongoing"}, ["Alice Second Live", "Bob Duo Show", "Alice Morning Live"]),
        ({"state": "created,ended"}, ["Bob Finished", "Carol Cancelled", "alice later"]),
        ({"state": "ready"}, []),
        ({"host_type": "multi_host"}, ["Bob Duo Show"]),
        ({"host_type": "single_host", "state": "ongoing"}, ["Alice Second Live", "Alice Morning Live"]),
        ({"created_by_user_id": ALICE}, ["Alice Second Live", "alice later", "Alice Morning Live"]),
        ({"created_by_user_ids": f"{BOB},{CAROL}"}, ["Bob Finished", "Carol Cancelled", "Bob Duo Show"]),
        ({"created_by_user_ids": f"{BOB},{CAROL}", "state": "ended"}, ["Bob Finished", "Carol Cancelled"]),
        ({"title_contains": "ALICE"}, ["Alice Second Live", "alice later", "Alice Morning Live"]),
        ({"title_contains": "live", "created_by_user_id": ALICE}, ["Alice Second Live", "Alice Morning Live"]),
        ({"participant_count_range_gte": 1}, ["Bob Duo Show", "Alice Morning Live"]),
        ({"participant_count_range_gte": 1, "participant_count_range_lte": 1}, ["Bob Duo Show"]),
        ({"participant_count_range_lte": 0, "state": "ongoing"}, ["Alice Second Live"]),
        ({"current_host_user_id": CAROL}, ["Bob Duo Show"]),
        ({"current_host_user_id": BOB}, []),  # creator of the duo, but never joined as broadcaster
    ],
)
def test_filters(api, world, query, expected):
    assert ids(events(api, **query)) == [world[n] for n in expected]


def test_a_current_host_is_one_who_joined_as_broadcaster_and_has_not_left(api, world):
    duo = world["Bob Duo Show"]
    join = {"liveStreamId": duo}
    assert api.post("/api/v1/live-stream/join-as-audience", json_body=join, user=BOB).status == 200  # watching is not hosting
    assert ids(events(api, current_host_user_id=BOB)) == []
    assert api.post(f"/api/v1/live-stream/{duo}/leave", user=CAROL).data["left"] is True
    assert ids(events(api, current_host_user_id=CAROL)) == []
    assert api.post("/api/v1/live-stream/join-as-broadcaster", json_body=join, user=BOB).status == 200
    assert ids(events(api, current_host_user_id=BOB)) == [duo]
    api.settle()
    (event,) = events(api, live_event_id=duo).json["live_events"]
    assert event["is_host_streaming"] is True and event["participant_count"] == 1  # the host is not audience


def test_id_filters(api, world):
    assert ids(events(api, live_event_id=world["Bob Duo Show"])) == [world["Bob Duo Show"]]
    wanted = [world["Alice Morning Live"], world["Bob Finished"], "f" * 24]
    assert ids(events(api, live_event_ids=",".join(wanted))) == [world["Bob Finished"], world["Alice Morning Live"]]
    assert ids(events(api, live_event_ids=",".join(wanted), state="ongoing")) == [world["Alice Morning Live"]]


def test_time_bounds_are_inclusive_at_the_start_and_exclusive_at_the_end(api, world):
    everything = events(api).json["live_events"]
    by_title = {e["title"]: e for e in everything}
    pivot = by_title["Carol Cancelled"]["created_at"]
    older = ids(events(api, created_at_end_date=pivot))
    assert world["Carol Cancelled"] not in older and older == [world["alice later"], world["Bob Duo Show"], world["Alice Morning Live"]]
    newer = ids(events(api, created_at_start_date=pivot))
    assert newer == [world["Alice Second Live"], world["Bob Finished"], world["Carol Cancelled"]]
    started = by_title["Bob Duo Show"]["started_at"]
    assert world["Bob Duo Show"] in ids(events(api, started_at_start_date=started))
    assert world["Bob Duo Show"] not in ids(events(api, started_at_end_date=started))
    assert world["alice later"] not in ids(events(api, started_at_start_date=0))  # never started


def test_duration_bounds(api, world):
    finished = next(e for e in events(api).json["live_events"] if e["title"] == "Bob Finished")
    assert world["Bob Finished"] in ids(events(api, duration_range_gte=finished["duration"], state="ended"))
    assert world["Bob Finished"] not in ids(events(api, duration_range_lte=finished["duration"], state="ended"))
    assert world["Bob Finished"] in ids(events(api, duration_range_lte=finished["duration"] + 1, state="ended"))


def test_pages_walk_forward_and_back_without_gaps_or_repeats(api, world):
    pages, reply = [], events(api, limit=2)
    assert reply.json["prev"] is None
    while True:
        pages.append(ids(reply))
        if reply.json["next"] is None:
            break
        reply = events(api, limit=2, next=reply.json["next"])
    assert pages == [[world[n] for n in NEWEST_FIRST[i : i + 2]] for i in (0, 2, 4)]
    back = [ids(reply)]
    while reply.json["prev"] is not None:
        reply = events(api, limit=2, prev=reply.json["prev"])
        back.append(ids(reply))
    assert back == pages[::-1]
    assert reply.json["prev"] is None and reply.json["next"] is not None


def test_a_selective_filter_still_fills_pages(api, world):
    first = events(api, limit=1, title_contains="alice")
    assert ids(first) == [world["Alice Second Live"]]
    second = events(api, limit=1, next=first.json["next"])
    assert ids(second) == [world["alice later"]]


def test_cursors_carry_their_filters(api, world):
    first = events(api, limit=1, state="ongoing")
    assert ids(events(api, limit=1, next=first.json["next"])) == [world["Bob Duo Show"]]
    reply = api.get(PATH, query={"limit": 1, "state": "ended", "next": first.json["next"]}, api_token=API_TOKEN)
    assert reply.status == 400 and reply.json["code"] == 400100


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ({"live_event_id": "a" * 24, "live_event_ids": "b" * 24}, "live_event_id and live_event_ids"),
        ({"created_by_user_id": ALICE, "created_by_user_ids": BOB}, "created_by_user_id and created_by_user_ids"),
        ({"live_event_ids": ",".join(user_id(n) for n in range(11))}, "live_event_ids"),
        ({"created_by_user_ids": ",".join(user_id(n) for n in range(11))}, "created_by_user_ids"),
        ({"state": "paused"}, "state"),
        ({"host_type": "triple_host"}, "host_type"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"created_at_start_date": "yesterday"}, "created_at_start_date"),
        ({"participant_count_range_gte": -1}, "participant_count_range_gte"),
        ({"next": "garbage"}, "next"),
        ({"prev": "x", "next": "y"}, "prev and next"),
        ({"created_at_start_date": 10, "created_at_end_date": 5}, "created_at"),
    ],
)
def test_bad_parameters_answer_400_in_the_platform_shape(api, world, query, needle):
    reply = api.get(PATH, query=query, api_token=API_TOKEN)
    assert reply.status == 400
    assert reply.json["error"] is True and reply.json["code"] == 400100 and needle in reply.json["message"]
    assert set(reply.json) == {"error", "code", "message"}


def test_a_tampered_cursor_is_400(api, world):
    cursor = events(api, limit=1).json["next"]
    tampered = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    reply = api.get(PATH, query={"next": tampered}, api_token=API_TOKEN)
    assert reply.status == 400 and "next" in reply.json["message"]
    prev_as_next = api.get(PATH, query={"prev": cursor}, api_token=API_TOKEN)
    assert prev_as_next.status == 400


@pytest.mark.parametrize("token", [None, "wrong"])
def test_api_token_is_required(api, world, token):
    reply = api.get(PATH, api_token=token)
    assert reply.status == 401 and reply.json["error"] is True and reply.json["code"] == 401121


def test_reads_stop_at_the_budget(api, world, monkeypatch):
    from livestream import live_events

    monkeypatch.setattr(live_events.reader, "READ_BUDGET", 2)
    reply = events(api, limit=5, title_contains="Alice Morning")
    assert ids(reply) == [] and reply.json["next"] is not None
    follow = events(api, limit=5, next=reply.json["next"])
    assert ids(follow) == [] and follow.json["next"] is not None
    last = events(api, limit=5, next=follow.json["next"])
    assert ids(last) == [world["Alice Morning Live"]]
    api.settle()
    assert store.get(store.stream_key(world["Alice Morning Live"]))["audienceCount"] == 3


def queries(api, query):
    """A listing's answer and the ``Limit`` of each Query it made."""
    limits: list[int] = []

    def record(params, model, **_):
        if model.name == "Query":
            limits.append(params.get("Limit"))

    events = store.client().meta.events
    events.register("provide-client-params.dynamodb.Query", record, unique_id="query-limits")
    try:
        reply = api.get(PATH, query=query, api_token=API_TOKEN)
    finally:
        events.unregister("provide-client-params.dynamodb.Query", unique_id="query-limits")
    assert reply.status == 200, reply.json
    return reply, limits


def test_a_page_without_filters_reads_about_what_it_answers_whatever_the_number_of_streams(api):
    api.add_user(ALICE)
    for total in (6, 30):
        while len(events(api, state="ongoing", limit=100).json["live_events"]) < total:
            api.create(ALICE, title="Busy")
        reply, limits = queries(api, {"state": "ongoing,ended", "limit": 5})
        assert len(reply.json["live_events"]) == 5 and reply.json["next"]
        # one Query per state asked, each for the page and the one after it that tells whether there is a
        # next page, at 6 as at 30 streams (before: 200 items per state, every stream of a small service)
        assert limits == [6, 6], (total, limits)


def test_the_first_page_of_every_partition_asked_is_read_at_once(api, world):
    """The states' (or creators') partitions are merged in order, their first pages requested together:
    one round trip's wait whatever the number of partitions, the answer as before."""
    with queries_in_flight_together(2) as sent:
        by_state = events(api, state="ongoing,ended", limit=10)
        by_creator = events(api, created_by_user_ids=f"{ALICE},{BOB}", limit=10)
    partitions = [params["ExpressionAttributeValues"][":pk"]["S"] for params in sent]
    assert sorted(partitions) == sorted(["STATE#ongoing", "STATE#ended", f"CREATOR#{ALICE}", f"CREATOR#{BOB}"])
    names = {v: k for k, v in world.items()}
    assert [names[i] for i in ids(by_state)] == ["Alice Second Live", "Bob Finished", "Carol Cancelled", "Bob Duo Show", "Alice Morning Live"]
    assert [names[i] for i in ids(by_creator)] == ["Alice Second Live", "Bob Finished", "alice later", "Bob Duo Show", "Alice Morning Live"]
