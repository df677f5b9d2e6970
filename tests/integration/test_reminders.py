"""Reminder switches and the scheduled dispatcher's exactly-once promise."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from livestream import reminders, store
from livestream.clock import iso
from tests.fault_injection import recording_sends
from tests.support import as_function, invoke, queries_in_flight_together, user_id

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


def dispatch_run(**kwargs):
    """The dispatcher's layer entry point, run as ReminderDispatchFunction (its environment and policy)."""
    with as_function("ReminderDispatchFunction"):
        return reminders.dispatch(**kwargs)


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
    assert store.get(store.reminder_key(stream["id"], FANS[0])) is None  # never sent: nothing to keep


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
    assert result == {"streams": 1, "sent": 3, "failed": 0}
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
    assert dispatch() == {"streams": 0, "sent": 0, "failed": 0}
    assert aws.reminder_messages() == []
    sent = store.get(store.reminder_key(due["id"], FANS[0]))
    assert sent["sentAt"] and store.get(store.reminder_key(not_yet["id"], FANS[0])).get("sentAt") is None


def test_reminders_go_out_the_configured_lead_before_the_start_15_minutes_by_default(api, aws, host):
    inside, outside = api.create(HOST, plannedStartDate=at(14)).data, api.create(HOST, plannedStartDate=at(16.5)).data
    for stream in (inside, outside):
        remind(api, stream, FANS[0])
    assert dispatch() == {"streams": 1, "sent": 1, "failed": 0}
    assert [m["liveStreamId"] for m in aws.reminder_messages()] == [inside["id"]]
    aws.with_parameters(ReminderLeadMinutes=30)  # the template parameter behind REMINDER_LEAD_MINUTES
    assert dispatch() == {"streams": 1, "sent": 1, "failed": 0}
    assert [m["liveStreamId"] for m in aws.reminder_messages()] == [outside["id"]]


def test_cancelled_or_started_streams_send_nothing(api, aws, host):
    cancelled = api.create(HOST, plannedStartDate=at(5)).data
    started = api.create(HOST, plannedStartDate=at(5)).data
    for stream in (cancelled, started):
        remind(api, stream, FANS[0])
    api.post(f"/api/v1/live-stream/{cancelled['id']}/end", user=HOST)
    api.post(f"/api/v1/live-stream/{started['id']}/start", user=HOST)
    assert dispatch()["sent"] == 0 and aws.reminder_messages() == []


def expire_lease(aws, stream_id):
    """The lease of a run that died expires (60 s) before another run may take the stream over."""
    store.client().update_item(
        TableName=aws.table(),
        Key=store.serialize(store.stream_key(stream_id)),
        UpdateExpression="SET leaseUntil = :past",
        ExpressionAttributeValues=store.values({":past": 0}),
    )


@pytest.fixture
def sends():
    """Every (stream, user) SQS accepted, whatever the queue's deduplication does with it."""
    with recording_sends(reminders._sqs()) as accepted:
        yield accepted


def test_a_run_that_dies_between_record_and_send_loses_nothing(api, aws, host, monkeypatch, sends):
    """The second batch is recorded as sent (and in flight), then the run dies before handing it to
    SQS: the next run sends exactly that batch and the rest, each reminder once."""
    stream = api.create(HOST, plannedStartDate=at(5)).data
    for fan in FANS:
        remind(api, stream, fan)
    real_send = reminders.send_batch
    calls = []

    def dying_send(stream_item, users):
        calls.append(users)
        if len(calls) == 2:
            raise RuntimeError("the function timed out")
        return real_send(stream_item, users)

    monkeypatch.setattr(reminders, "send_batch", dying_send)
    with pytest.raises(RuntimeError):
        dispatch_run(run_id="run-1")
    monkeypatch.setattr(reminders, "send_batch", real_send)
    assert [u for _, u in sends] == FANS[:10]
    assert store.get(store.stream_key(stream["id"]))["inFlight"] == FANS[10:20]  # recorded, not yet sent
    assert dispatch_run(run_id="run-2") == {"streams": 0, "sent": 0, "failed": 0}  # run 1's lease still holds
    expire_lease(aws, stream["id"])
    assert dispatch_run(run_id="run-3") == {"streams": 1, "sent": 15, "failed": 0}
    assert [u for _, u in sends] == FANS  # each handed to SQS exactly once
    assert sorted(m["userId"] for m in aws.reminder_messages()) == FANS


def test_a_run_that_dies_after_sending_is_resumed_and_the_queue_drops_the_repeat(api, aws, host, monkeypatch):
    """Died after SQS took a batch but before the next record: the batch is still in flight, so the
    next run (within the lease, well inside the queue's 5-minute window) sends it again with the same
    deduplication ids, and the queue delivers it once."""
    stream = api.create(HOST, plannedStartDate=at(5)).data
    for fan in FANS[:12]:
        remind(api, stream, fan)
    real_mark = reminders._mark_sent
    calls = []

    def crash_on_second(*args):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("crash after sending")
        return real_mark(*args)

    monkeypatch.setattr(reminders, "_mark_sent", crash_on_second)
    with pytest.raises(RuntimeError):
        dispatch_run(run_id="run-1")
    monkeypatch.setattr(reminders, "_mark_sent", real_mark)
    expire_lease(aws, stream["id"])
    dispatch_run(run_id="run-2")
    users = [m["userId"] for m in aws.reminder_messages()]
    assert sorted(users) == FANS[:12] and len(users) == 12


def test_a_run_that_overlaps_another_skips_the_stream_it_holds(api, aws, host, monkeypatch, sends):
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
        failed = real_send(stream, users)
        if not overlapped:  # once, from inside run 1's first batch
            overlapped.append(True)
            second.append(dispatch_run(run_id="run-2"))
        return failed

    monkeypatch.setattr(reminders, "send_batch", send_and_overlap)
    first = dispatch_run(run_id="run-1")
    pairs = [(m["liveStreamId"], m["userId"]) for m in aws.reminder_messages()]
    assert len(pairs) == len(set(pairs)) == 24 and len(sends) == 24
    assert first == {"streams": 1, "sent": 12, "failed": 0} and second == [{"streams": 1, "sent": 12, "failed": 0}]


# ---------------------------------------------------------------- never twice


class Clock:
    """The dispatcher's clock (``now`` and the lease's epoch seconds), moved forward at will."""

    def __init__(self, monkeypatch):
        self.offset = timedelta(0)
        monkeypatch.setattr(reminders, "now", lambda: datetime.now(timezone.utc) + self.offset)
        monkeypatch.setattr(reminders, "time", SimpleNamespace(time=lambda: time.time() + self.offset.total_seconds()))

    def advance(self, minutes: float) -> None:
        self.offset += timedelta(minutes=minutes)


def test_a_reminder_turned_on_after_dispatch_is_sent_by_the_next_run_once(api, aws, host, sends):
    stream = api.create(HOST, plannedStartDate=at(5)).data
    remind(api, stream, FANS[0])
    assert dispatch()["sent"] == 1
    assert remind(api, stream, FANS[1]).status == 200
    assert [u for _, u in sends] == [FANS[0]]  # the request itself sends nothing
    assert dispatch() == {"streams": 1, "sent": 1, "failed": 0}
    assert dispatch() == {"streams": 0, "sent": 0, "failed": 0}
    assert [u for _, u in sends] == [FANS[0], FANS[1]]
    assert [m["userId"] for m in aws.reminder_messages()] == [FANS[0], FANS[1]]


def test_turning_a_sent_reminder_off_and_on_past_the_queue_window_never_sends_it_again(api, aws, host, monkeypatch, sends):
    """The FIFO queue forgets a deduplication id after 5 minutes; "sent" is the reminder's own state,
    so re-enabling it 6 and 20 minutes later sends nothing more."""
    clock = Clock(monkeypatch)
    stream = api.create(HOST, plannedStartDate=at(30)).data
    remind(api, stream, FANS[0])
    clock.advance(16)  # within the 15-minute lead: due
    assert dispatch_run() == {"streams": 1, "sent": 1, "failed": 0}
    for minutes in (6, 14):
        clock.advance(minutes)
        for action in ("delete", "post", "post"):
            assert api.request(action.upper(), f"/api/v1/live-stream/{stream['id']}/reminder", user=FANS[0]).status == 200
        dispatch_run()
    assert sends == [(stream["id"], FANS[0])]
    upcoming = api.get(f"/api/v2/live-stream/user/{HOST}/upcoming-live-streams", user=FANS[0]).data
    assert upcoming[0]["isReminderActive"] is True
    api.delete(f"/api/v1/live-stream/{stream['id']}/reminder", user=FANS[0])
    upcoming = api.get(f"/api/v2/live-stream/user/{HOST}/upcoming-live-streams", user=FANS[0]).data
    assert upcoming[0]["isReminderActive"] is False


def test_a_reminder_turned_on_while_a_run_finishes_is_sent_in_that_run(api, aws, host, monkeypatch, sends):
    """The run has read the reminder set; before it leaves DueIndex, a fan turns a reminder on. The
    finish sees the new revision, reads the set again and sends the newcomer once."""
    stream = api.create(HOST, plannedStartDate=at(5)).data
    remind(api, stream, FANS[0])
    real_finish = reminders._finish
    late = []

    def finish_with_a_latecomer(stream_id, run_id, revision):
        if not late:
            late.append(remind(api, stream, FANS[1]).status)
        return real_finish(stream_id, run_id, revision)

    monkeypatch.setattr(reminders, "_finish", finish_with_a_latecomer)
    assert dispatch_run() == {"streams": 1, "sent": 2, "failed": 0}
    assert late == [200] and [u for _, u in sends] == [FANS[0], FANS[1]]
    monkeypatch.setattr(reminders, "_finish", real_finish)
    assert dispatch_run() == {"streams": 0, "sent": 0, "failed": 0}


def test_a_reminder_turned_off_before_its_batch_is_not_sent(api, aws, host, monkeypatch, sends):
    stream = api.create(HOST, plannedStartDate=at(5)).data
    for fan in FANS[:3]:
        remind(api, stream, fan)
    real_mark = reminders._mark_sent

    def off_first(stream_id, run_id, users):
        api.delete(f"/api/v1/live-stream/{stream_id}/reminder", user=FANS[1])
        return real_mark(stream_id, run_id, users)

    monkeypatch.setattr(reminders, "_mark_sent", off_first)
    assert dispatch_run()["sent"] == 2
    assert [u for _, u in sends] == [FANS[0], FANS[2]]


def test_the_dispatcher_batches_ten_per_sqs_call(api, aws, host, monkeypatch):
    stream = api.create(HOST, plannedStartDate=at(5)).data
    for fan in FANS:
        remind(api, stream, fan)
    sizes = []
    real = reminders.send_batch
    monkeypatch.setattr(reminders, "send_batch", lambda s, users: sizes.append(len(users)) or real(s, users))
    dispatch()
    assert sizes == [10, 10, 5]


def test_overdue_and_due_streams_of_different_days_are_all_reminded_the_days_read_at_once(api, aws, host, monkeypatch):
    """A run reads each day's DueIndex partition from a day back (a start that passed unnoticed is still
    reminded within a day) to the lead time ahead, the days' queries in flight together."""
    overdue, due = api.create(HOST, plannedStartDate=at(5)).data, api.create(HOST, plannedStartDate=at(23 * 60 + 10)).data
    for stream in (overdue, due):
        remind(api, stream, FANS[0])
    later = datetime.now(timezone.utc) + timedelta(hours=23)  # the first start passed 23 hours ago
    monkeypatch.setattr(reminders, "now", lambda: later)
    days = ((later + timedelta(minutes=15)).date() - (later - timedelta(days=1)).date()).days + 1
    with queries_in_flight_together(days, "DueIndex") as sent:
        result = dispatch_run()
    asked = [params["ExpressionAttributeValues"][":pk"]["S"] for params in sent]
    assert result == {"streams": 2, "sent": 2, "failed": 0}
    assert sorted(m["liveStreamId"] for m in aws.reminder_messages()) == sorted([overdue["id"], due["id"]])
    assert len(asked) == len(set(asked)) == days >= 2
