"""Stream reminders: turning them on and off, and dispatching each exactly once.

A reminder is an item ``REMINDER#<user>`` under its stream; it is on while it exists and its
``active`` flag is not ``false``. **Sent is a state of the reminder itself**: ``sentAt``, set by a
conditional write (``attribute_not_exists(sentAt)``, and the reminder still on) before the message
is handed to the queue. Nothing ever removes it, so no path can send a reminder twice: not two
overlapping dispatcher runs, not a reminder turned off and on again after it went out (turning off
a sent reminder keeps the item, with ``active = false``), not a run resumed after a crash.

Only the dispatcher sends. A scheduled stream is in DueIndex (by its planned start) from its
creation until it starts, is cancelled, or all its reminders are sent. Every minute the dispatcher
takes the streams whose planned start is within the lead time and, for each:

1. claims it with a conditional write (a lease ``leaseOwner``/``leaseUntil``, ``dispatchStartedAt``)
   that only succeeds while the stream is ``scheduled``, still due, and not held by a live lease: a
   cancelled or started stream gets nothing, and two overlapping runs never work on one stream at once;
2. if a previous run left a batch ``inFlight`` (recorded as sent, but the run died or SQS refused it
   before the batch was confirmed), sends that batch again first;
3. reads the reminders that are on and not sent (strongly consistent queries of the stream's items)
   and, for each batch of 10, in ONE transaction marks each reminder ``sentAt`` (conditional, as
   above) and records the batch as the stream's ``inFlight`` (conditional on still holding the lease
   and the stream still being scheduled); then sends the batch with one SendMessageBatch;
4. when everything is sent, leaves DueIndex — conditional on the stream's ``reminderRevision`` being
   the one it claimed with, see below.

**Record, then send.** The decision "this reminder is sent" is recorded before the send and
atomically with the record of *what is in flight*. A crash between the record and the send therefore
loses nothing: the next run (after the lease, 60 s) sends the ``inFlight`` batch again. If the crash
came after SQS accepted the batch, that second send carries the same deduplication ids
(``<stream>:<user>``) within the FIFO queue's 5-minute window, and the queue drops it. Sending first
and recording after would be the other choice; it duplicates in the same crash window but would
also resend an *entire* partially-refused batch, so the record-first order was taken. SQS refusing
some entries of a batch (``Failed``) narrows ``inFlight`` to exactly those, so the next run sends
exactly what was not sent. The only case the queue's window does not cover is a crash after a
successful send followed by more than 5 minutes without any dispatcher run.

**Turning a reminder on after dispatch began** does not send it from the request: the request
records the reminder, puts the stream back in DueIndex and bumps ``reminderRevision`` in one
transaction. The next run (within a minute) sends it; a run finishing the stream meanwhile sees the
revision change, keeps the stream due and looks again. So the requests themselves never call SQS.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Optional

from livestream.clock import iso, now
from livestream.errors import Conflict, NotFound, retry_after
from livestream.settings import get_settings
from livestream.store import reminders as stored
from livestream.store.streams import Stream, StreamStatus
from livestream.store.streams import get as get_stream

SQS_BATCH = 10  # SendMessageBatch takes at most 10 entries
LEASE_SECONDS = 60  # a run that dies holds a stream this long; then the next run resumes it
PASSES = 3  # reminder sets re-read in one claim when late reminders keep arriving
OVERDUE = timedelta(days=1)  # a stream whose start passed unnoticed (dispatcher down) is still reminded within a day
STOP_STREAMS_MS = 5_000  # no new stream is claimed with less time left than this: the next run takes it
STOP_BATCHES_MS = 2_000  # nor a new batch marked and sent


# ---------------------------------------------------------------- on / off


def turn_on(stream_id: str, user_id: str) -> dict[str, Any]:
    """Idempotent. Only for scheduled streams (409 otherwise). 1 TransactWriteItems; once the stream's
    dispatch has begun, +1 GetItem and +1 TransactWriteItems that also makes the stream due again."""
    if not stored.turn_on(stream_id, user_id, _now()):
        _turn_on_late(stream_id, user_id)
    return {"liveStreamId": stream_id, "userId": user_id, "isReminderActive": True}


def _now() -> str:
    return iso(now()) or ""


def _turn_on_late(stream_id: str, user_id: str) -> None:
    """The stream's dispatch has begun (or it is not scheduled): record the reminder and hand it to the
    dispatcher by making the stream due again, with a new ``reminderRevision``."""
    status = StreamStatus.SCHEDULED
    for _ in range(2):
        stream = get_stream(stream_id)
        if stream is None:
            raise NotFound(f"id: no stream {stream_id}")
        status = stream.status
        if status != StreamStatus.SCHEDULED:
            break
        if stored.turn_on_late(stream, user_id, _now()):
            return
        # the stream left `scheduled` meanwhile: read it again to say so
    raise Conflict(f"id: reminders are only for scheduled streams; this one is {status.value}")


def turn_off(stream_id: str, user_id: str) -> dict[str, Any]:
    """Idempotent; 404 for an unknown stream. 1 TransactWriteItems (deletes an unsent reminder);
    a reminder already sent is kept, switched off (+1 UpdateItem), so that it is never sent again."""
    if stored.turn_off(stream_id, user_id) == "no stream":
        raise NotFound(f"id: no stream {stream_id}")
    return {"liveStreamId": stream_id, "userId": user_id, "isReminderActive": False}


# ---------------------------------------------------------------- dispatch


class SendFailed(Exception):
    """SQS refused some or all of a batch; the refused users stay ``inFlight`` for the next run."""


@dataclass
class Progress:
    """What a stream's dispatch did so far: reminders handed to SQS, and whether the batch recorded
    as in flight has gone out (``settled``)."""

    sent: int = 0
    settled: bool = True


def dispatch(*, time_left_ms: Callable[[], int] = lambda: 10**9, run_id: Optional[str] = None) -> dict[str, int]:
    """Send every due reminder; answer ``{"streams": n, "sent": m, "failed": f}`` for this run, where
    ``failed`` counts the streams left for the next run because a dependency throttled or failed."""
    run_id = run_id or uuid.uuid4().hex
    current = now()
    horizon = current + timedelta(minutes=get_settings().reminder_lead_minutes)
    totals = {"streams": 0, "sent": 0, "failed": 0}
    for stream_id in due_streams(current, horizon):
        if time_left_ms() < STOP_STREAMS_MS:
            break  # the next run resumes what this one leaves
        progress = Progress()
        counted = _dispatch_one(stream_id, run_id, time_left_ms, progress)
        if counted:
            totals[counted] += 1
        totals["sent"] += progress.sent
    return totals


def _dispatch_one(stream_id: str, run_id: str, time_left_ms: Callable[[], int], progress: Progress) -> Optional[str]:
    """``"streams"`` when the stream is done, ``"failed"`` when a dependency stopped it (to resume
    next run), else ``None`` (another run holds it, or it is left for the next run)."""
    try:
        return "streams" if dispatch_stream(stream_id, run_id, time_left_ms, progress) else None
    except Exception as exc:
        if not isinstance(exc, SendFailed) and retry_after(exc) is None:
            raise  # not a dependency failing: a fault of ours, let the run fail loudly
        from livestream.observability import logger

        logger.warning("reminder dispatch of a stream stopped; the next run resumes it", extra={"stream": stream_id, "error": type(exc).__name__})
        # what went out is no longer in flight (unless SQS refused it): the next run sends exactly the rest
        _release(stream_id, run_id, settled=progress.settled and not isinstance(exc, SendFailed))
        return "failed"


def due_streams(current: datetime, horizon: datetime) -> list[str]:
    """Ids of streams marked due with a planned start up to ``horizon`` (DueIndex, one partition a day,
    the days' partitions read at once), earliest day first."""
    first, last = (current - OVERDUE).date(), horizon.date()
    return stored.due([first + timedelta(days=n) for n in range((last - first).days + 1)], iso(horizon) or "")


def dispatch_stream(stream_id: str, run_id: str, time_left_ms: Callable[[], int], progress: Optional[Progress] = None) -> bool:
    """Send one stream's unsent reminders (counted in ``progress``); ``False`` when another run holds
    it or it is no longer scheduled (then it leaves DueIndex), or this run stopped before the end."""
    progress = progress if progress is not None else Progress()
    for _ in range(PASSES):
        stream = _claim(stream_id, run_id)
        if stream is None:
            return False
        if stream.inFlight:
            progress.settled = False
            _send(stream, run_id, stream.inFlight, progress)
            if not _settle(stream_id, run_id):
                return False
        done = _send_unsent(stream, run_id, time_left_ms, progress)
        if done is not None:
            return done
        if _finish(stream_id, run_id, stream.reminderRevision):
            return True
        # a reminder was turned on after this pass read the set: read it again (what this pass sent
        # went out: it is no longer in flight)
        if not _settle(stream_id, run_id):
            return False
    _release(stream_id, run_id, settled=True)
    return False


def _send_unsent(stream: Stream, run_id: str, time_left_ms: Callable[[], int], progress: Progress) -> Optional[bool]:
    """Mark and send the stream's unsent reminders, a batch at a time; ``False`` when this run stopped
    (out of time, lease lost, stream no longer scheduled), ``None`` when all were sent."""
    for users in _unsent_batches(stream.id):
        if time_left_ms() < STOP_BATCHES_MS:
            _release(stream.id, run_id, settled=True)
            return False
        marked = _mark_sent(stream.id, run_id, users)
        if marked is None:
            return False  # cancelled or started meanwhile, or the lease was lost
        if marked:
            progress.settled = False
            _send(stream, run_id, marked, progress)
    return None


def _send(stream: Stream, run_id: str, users: list[str], progress: Progress) -> None:
    """Send a batch recorded as in flight; the users SQS refuses become the stream's ``inFlight``."""
    failed = send_batch(stream, users)
    progress.sent += len(users) - len(failed)
    if failed:
        stored.keep_in_flight(stream.id, run_id, failed)
        raise SendFailed(f"SQS refused {len(failed)} of {len(users)} reminder(s); the next run sends them")
    progress.settled = True


def _claim(stream_id: str, run_id: str) -> Optional[Stream]:
    epoch = int(time.time())
    return stored.claim(stream_id, run_id, lease_until=epoch + LEASE_SECONDS, epoch=epoch, at=_now())


def _unsent_batches(stream_id: str) -> Iterator[list[str]]:
    """Users whose reminder is on and not sent, in key order, 10 at a time (consistent reads)."""
    batch: list[str] = []
    for user in stored.unsent(stream_id):
        batch.append(user)
        if len(batch) == SQS_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _mark_sent(stream_id: str, run_id: str, users: list[str]) -> Optional[list[str]]:
    """Record ``users`` as sent and as the stream's ``inFlight`` batch, in one transaction. Answers the
    users recorded (a reminder turned off or sent meanwhile drops out), or ``None`` when this run lost
    the lease or the stream left ``scheduled``."""
    sent_at = _now()
    while users:
        refused = stored.mark_sent(stream_id, run_id, users, lease_until=int(time.time()) + LEASE_SECONDS, at=sent_at)
        if refused is None:
            return None
        if not refused:
            return users
        users = [u for u in users if u not in refused]
    return []


def _settle(stream_id: str, run_id: str) -> bool:
    """The ``inFlight`` batch went out: forget it (``False`` when the lease was lost meanwhile)."""
    return stored.settle(stream_id, run_id)


def message(stream: Stream, user_id: str) -> dict[str, Any]:
    return {
        "type": "live_stream.reminder",
        "liveStreamId": stream.id,
        "userId": user_id,
        "title": stream.title,
        "channelName": stream.channelName,
        "plannedStartDate": stream.plannedStartDate,
        "creator": stream.creator,
    }


def send_batch(stream: Stream, users: list[str]) -> list[str]:
    """One SendMessageBatch of up to 10 reminders, deduplicated per (stream, user) by the FIFO queue;
    answers the users whose entries SQS refused (``Failed``). A call that fails as a whole raises."""
    entries = [
        {
            "Id": str(i),
            "MessageBody": json.dumps(message(stream, user), ensure_ascii=False),
            "MessageGroupId": stream.id,
            "MessageDeduplicationId": f"{stream.id}:{user}",
        }
        for i, user in enumerate(users)
    ]
    response = _sqs().send_message_batch(QueueUrl=get_settings().reminder_queue_url, Entries=entries)
    return [users[int(entry["Id"])] for entry in response.get("Failed") or []]


def _finish(stream_id: str, run_id: str, revision: Optional[int]) -> bool:
    """Leave DueIndex, unless a reminder was turned on (a new ``reminderRevision``) since the claim."""
    return stored.finish(stream_id, run_id, revision, _now())


def _release(stream_id: str, run_id: str, *, settled: bool = False) -> None:
    """Give the lease up so that the next run resumes at once (best effort: otherwise it expires);
    ``settled`` when the last batch in flight went out (else the next run sends it again)."""
    try:
        stored.release(stream_id, run_id, settled=settled)
    except Exception as exc:
        if retry_after(exc) is None:
            raise


@lru_cache(maxsize=1)
def _sqs() -> Any:
    from livestream import aws

    return aws.client("sqs")
