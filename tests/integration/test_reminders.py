"""Reminder switches and the scheduled dispatcher's exactly-once promise."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from livestream import reminders, store
from livestream.clock import iso
from tests.support import as_function, invoke, user_id

HOST = user_id(1)
FANS = [user_id(1000 + n) for n in range(25)]


def at(minutes: float) -> str:
    return iso(datetime.now(timezone.utc) + timedelta(minutes=minutes))


@pytest.fixture
def host(api):
    api.add_user(HOST, username="host")


def remind(api, stream, user):
    return api.post(f"/api/v1/live-stream/{stream['id']}/reminder", user=user)


def dispatch(event=None):
    return invoke("ReminderDispatchFunction", event or {"source": "aws.events"})


def dispatch_run(run_id):
    """The dispatcher's layer entry point, run as ReminderDispatchFunction (its environment and policy)."""
    with as_function("ReminderDispatchFunction"):
        return reminders.dispatch(run_id=run_id)


# ---------------------------------------------------------------- switches


def test_on_twice_is_on_and_off_twice_is_off(api, host):
    stream = api.create(HOST, plannedStartDate=at(60)).data
    for _ in range(2):
        reply = remind(api, stream, FANS[0])
        assert reply.status == 200 and reply.function == "SetReminderFunction"
        assert reply.data == {"liveStreamId": stream["id"], "userId": FANS[0], "isReminderActive": True}
    for _ in range(2):
        reply = api.delete(f"/api/v1/live-stream/{stream['id']}/reminder", user=FANS[0])
        assert reply.status == 200 and reply.function == "DeleteReminderFunction" and reply.data["isReminderActive"] is False
    assert store.get(store.reminder_key(stream["id"], FANS[0])) is None


def test_only_scheduled_streams_take_reminders(api, host):
    live = api.create(HOST).data
    reply = remind(api, live, FANS[0])
    assert reply.status == 409 and reply.errors[0].startswith("Resource already exists")
    assert remind(api, {"id": "f" * 24}, FANS[0]).status == 404
    assert api.delete(f"/api/v1/live-stream/{'f' * 24}/reminder", user=FANS[0]).status == 404
    assert remind(api, {"id": "bad"}, FANS[0]).status == 400
    assert api.post(f"/api/v1/live-stream/{live['id']}/reminder").status == 401


# ---------------------------------------------------------------- dispatch


def test_due_reminders_are_sent_once_in_the_contract_shape(api, aws, host):
    due = api.create(HOST, title="Starting soon", plannedStartDate=at(10)).data
    not_yet = api.create(HOST, title="Tonight", plannedStartDate=at(300)).data
    for fan in FANS[:3]:
        remind(api, due, fan)
        remind(api, not_yet, fan)
    result = dispatch()
    assert result == {"streams": 1, "sent": 3}
    messages = aws.reminder_messages()
    assert sorted(m["userId"] for m in messages) == FANS[:3]
    first = messages[0]
    assert {k: v for k, v in first.items() if k not in ("userId", "_dedup")} == {
        "type": "live_stream.reminder",
        "liveStreamId": due["id"],
        "title": "Starting soon",
        "channelName": due["channelName"],
        "plannedStartDate": due["plannedStartDate"],
        "creator": due["creator"],
    }
    assert first["_dedup"] == f"{due['id']}:{first['userId']}"
    assert dispatch() == {"streams": 0, "sent": 0}
    assert aws.reminder_messages() == []


def test_cancelled_or_started_streams_send_nothing(api, aws, host):
    cancelled = api.create(HOST, plannedStartDate=at(5)).data
    started = api.create(HOST, plannedStartDate=at(5)).data
    for stream in (cancelled, started):
        remind(api, stream, FANS[0])
    api.post(f"/api/v1/live-stream/{cancelled['id']}/end", user=HOST)
    api.post(f"/api/v1/live-stream/{started['id']}/start", user=HOST)
    assert dispatch()["sent"] == 0 and aws.reminder_messages() == []


def test_a_run_that_dies_half_way_is_resumed_without_duplicates(api, aws, host, monkeypatch):
    stream = api.create(HOST, plannedStartDate=at(5)).data
    for fan in FANS:
        remind(api, stream, fan)
    real_send = reminders.send_batch
    calls = []

    def dying_send(stream_item, users):
        calls.append(users)
        if len(calls) == 2:
            raise RuntimeError("the function timed out")
        real_send(stream_item, users)

    monkeypatch.setattr(reminders, "send_batch", dying_send)
    with pytest.raises(RuntimeError):
        dispatch_run("run-1")
    monkeypatch.setattr(reminders, "send_batch", real_send)
    assert len(aws.reminder_messages()) == 10
    # the lease of the dead run must expire before another run may take the stream over
    store.client().update_item(
        TableName=aws.table(),
        Key=store.serialize(store.stream_key(stream["id"])),
        UpdateExpression="SET leaseUntil = :past",
        ExpressionAttributeValues=store.values({":past": 0}),
    )
    assert dispatch_run("run-2") == {"streams": 1, "sent": 15}
    assert sorted(m["userId"] for m in aws.reminder_messages()) == FANS[10:]


def test_a_batch_sent_but_not_recorded_is_deduplicated_by_the_queue(api, aws, host, monkeypatch):
    stream = api.create(HOST, plannedStartDate=at(5)).data
    for fan in FANS[:12]:
        remind(api, stream, fan)
    real_advance = reminders._advance
    monkeypatch.setattr(reminders, "_advance", lambda *a: (_ for _ in ()).throw(RuntimeError("crash after sending")))
    with pytest.raises(RuntimeError):
        dispatch_run("run-1")
    monkeypatch.setattr(reminders, "_advance", real_advance)
    store.client().update_item(
        TableName=aws.table(),
        Key=store.serialize(store.stream_key(stream["id"])),
        UpdateExpression="SET leaseUntil = :past",
        ExpressionAttributeValues=store.values({":past": 0}),
    )
    dispatch_run("run-2")
    users = [m["userId"] for m in aws.reminder_messages()]
    assert sorted(users) == FANS[:12] and len(users) == 12


def test_a_run_that_overlaps_another_skips_the_stream_it_holds(api, aws, host, monkeypatch):
    """Run 2 starts while run 1 is half-way through a stream: it leaves that stream to run 1, sends the
    others, and together they send each reminder once. (Truly concurrent runs: tests/e2e.)"""
    streams = [api.create(HOST, plannedStartDate=at(3 + n)).data for n in range(2)]
    for stream in streams:
        for fan in FANS[:12]:
            remind(api, stream, fan)
    real_send = reminders.send_batch
    second: list[dict] = []
    overlapped = []

    def send_and_overlap(stream, users):
        real_send(stream, users)
        if not overlapped:  # once, from inside run 1's first batch
            overlapped.append(True)
            second.append(dispatch_run("run-2"))

    monkeypatch.setattr(reminders, "send_batch", send_and_overlap)
    first = dispatch_run("run-1")
    pairs = [(m["liveStreamId"], m["userId"]) for m in aws.reminder_messages()]
    assert len(pairs) == len(set(pairs)) == 24
    assert first == {"streams": 1, "sent": 12} and second == [{"streams": 1, "sent": 12}]


def test_a_reminder_turned_on_while_dispatch_is_under_way_is_sent_at_once(api, aws, host):
    stream = api.create(HOST, plannedStartDate=at(5)).data
    remind(api, stream, FANS[0])
    dispatch()
    assert [m["userId"] for m in aws.reminder_messages()] == [FANS[0]]
    assert remind(api, stream, FANS[1]).status == 200
    assert [m["userId"] for m in aws.reminder_messages()] == [FANS[1]]
    assert dispatch()["sent"] == 0 and aws.reminder_messages() == []


def test_the_dispatcher_batches_ten_per_sqs_call(api, aws, host, monkeypatch):
    stream = api.create(HOST, plannedStartDate=at(5)).data
    for fan in FANS:
        remind(api, stream, fan)
    sizes = []
    real = reminders.send_batch
    monkeypatch.setattr(reminders, "send_batch", lambda s, users: sizes.append(len(users)) or real(s, users))
    dispatch()
    assert sizes == [10, 10, 5]
