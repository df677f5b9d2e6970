"""Stream reminders: turning them on and off, and dispatching them exactly once.

A reminder is an item ``REMINDER#<user>`` under its stream. A scheduled stream is in DueIndex
(by its planned start) from its creation until it starts, is cancelled or is dispatched. Every minute the dispatcher takes the streams whose planned
start is within the lead time and, for each:

1. claims it with a conditional write (``dispatchStartedAt``, a lease ``leaseOwner``/``leaseUntil``)
   that only succeeds while the stream is still ``scheduled``: a cancelled or started stream gets
   nothing, and two overlapping runs never work on the same stream at once;
2. from the claim on, the set of reminders to send is frozen: a reminder turned on later is sent
   right away by the request that turns it on (see :func:`turn_on`);
3. reads the reminders in key order with strongly consistent queries and sends them in batches of
   10 to the FIFO queue, deduplicated by ``<stream>:<user>``; after each batch it records the last
   user sent (``reminderCursor``) with a write conditional on still holding the lease and the
   stream still being scheduled, so a run that dies half-way is resumed from the cursor by the next
   one (a batch sent but not yet recorded is dropped by the queue's deduplication);
4. when all are sent, removes the stream from DueIndex.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Optional

from botocore.exceptions import ClientError

from livestream import store
from livestream.clock import iso, now
from livestream.errors import Conflict, NotFound
from livestream.settings import get_settings

SQS_BATCH = 10
LEASE_SECONDS = 60
OVERDUE = timedelta(days=1)  # a stream whose start passed unnoticed (dispatcher down) is still reminded within a day


# ---------------------------------------------------------------- on / off


def turn_on(stream_id: str, user_id: str) -> dict[str, Any]:
    """Idempotent. Only for scheduled streams (409 otherwise). 1 TransactWriteItems; if the stream's
    dispatch has already begun, the reminder is recorded and sent at once (+1 PutItem, +1 SQS call)."""
    reminder = {**store.reminder_key(stream_id, user_id), "userId": user_id, "createdAt": iso(now())}
    try:
        store.transact(
            [
                {
                    "ConditionCheck": {
                        "TableName": store.table(),
                        "Key": store.serialize(store.stream_key(stream_id)),
                        "ConditionExpression": "#status = :scheduled AND attribute_not_exists(dispatchStartedAt)",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": store.values({":scheduled": "scheduled"}),
                    }
                },
                {"Put": {"TableName": store.table(), "Item": store.serialize(reminder)}},
            ]
        )
    except ClientError as exc:
        if "ConditionalCheckFailed" not in store.cancellation_codes(exc):
            raise
        stream = store.get(store.stream_key(stream_id))
        if stream is None:
            raise NotFound(f"id: no stream {stream_id}") from exc
        if stream["status"] != "scheduled":
            raise Conflict(f"id: reminders are only for scheduled streams; this one is {stream['status']}") from exc
        _send_late(stream, reminder)
    return {"liveStreamId": stream_id, "userId": user_id, "isReminderActive": True}


def _send_late(stream: dict[str, Any], reminder: dict[str, Any]) -> None:
    """The stream's reminders are already going out: record this one and send it now."""
    store.client().put_item(TableName=store.table(), Item=store.serialize(reminder))
    send_batch(stream, [reminder["userId"]])


def turn_off(stream_id: str, user_id: str) -> dict[str, Any]:
    """Idempotent; 404 for an unknown stream. 1 TransactWriteItems."""
    try:
        store.transact(
            [
                {
                    "ConditionCheck": {
                        "TableName": store.table(),
                        "Key": store.serialize(store.stream_key(stream_id)),
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
                {"Delete": {"TableName": store.table(), "Key": store.serialize(store.reminder_key(stream_id, user_id))}},
            ]
        )
    except ClientError as exc:
        if store.cancellation_codes(exc)[:1] == ["ConditionalCheckFailed"]:
            raise NotFound(f"id: no stream {stream_id}") from exc
        raise
    return {"liveStreamId": stream_id, "userId": user_id, "isReminderActive": False}


# ---------------------------------------------------------------- dispatch


def dispatch(*, time_left_ms: Callable[[], int] = lambda: 10**9, run_id: Optional[str] = None) -> dict[str, int]:
    """Send every due reminder; answer ``{"streams": n, "sent": m}`` for this run."""
    run_id = run_id or uuid.uuid4().hex
    current = now()
    horizon = current + timedelta(minutes=get_settings().reminder_lead_minutes)
    streams = sent = 0
    for stream_id in due_streams(current, horizon):
        if time_left_ms() < 5_000:
            break  # the next run resumes what this one leaves
        count = dispatch_stream(stream_id, run_id, time_left_ms)
        if count is not None:
            streams += 1
            sent += count
    return {"streams": streams, "sent": sent}


def due_streams(current: datetime, horizon: datetime) -> Iterator[str]:
    """Ids of streams marked due with a planned start up to ``horizon`` (DueIndex, one partition a day)."""
    day = (current - OVERDUE).date()
    while day <= horizon.date():
        query: dict[str, Any] = {
            "TableName": store.table(),
            "IndexName": "DueIndex",
            "KeyConditionExpression": "duePk = :pk AND dueSk <= :until",
            "ExpressionAttributeValues": store.values({":pk": f"DUE#{day.isoformat()}", ":until": f"{iso(horizon)}$"}),
        }
        while True:
            response = store.client().query(**query)
            for item in response.get("Items", []):
                yield store.deserialize(item)["dueSk"].rsplit("#", 1)[1]
            if "LastEvaluatedKey" not in response:
                break
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        day += timedelta(days=1)


def dispatch_stream(stream_id: str, run_id: str, time_left_ms: Callable[[], int]) -> Optional[int]:
    """Send one stream's reminders from its cursor on; ``None`` when another run holds it or it is no
    longer scheduled (then it leaves DueIndex)."""
    stream = _claim(stream_id, run_id)
    if stream is None:
        return None
    sent = 0
    cursor = stream.get("reminderCursor")
    for users in _reminder_batches(stream_id, cursor):
        if time_left_ms() < 2_000:
            return sent
        send_batch(stream, users)
        if not _advance(stream_id, run_id, users[-1]):
            return sent  # cancelled or started meanwhile, or the lease was lost
        sent += len(users)
    _finish(stream_id, run_id)
    return sent


def _claim(stream_id: str, run_id: str) -> Optional[dict[str, Any]]:
    epoch = int(time.time())
    response = store.update_if(
        store.stream_key(stream_id),
        "SET leaseOwner = :run, leaseUntil = :until, dispatchStartedAt = if_not_exists(dispatchStartedAt, :now)",
        "#status = :scheduled AND attribute_exists(duePk) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :epoch OR leaseOwner = :run)",
        {":run": run_id, ":until": epoch + LEASE_SECONDS, ":now": iso(now()), ":scheduled": "scheduled", ":epoch": epoch},
        ExpressionAttributeNames={"#status": "status"},
        ReturnValues="ALL_NEW",
    )
    if response is None:
        stream = store.get(store.stream_key(stream_id))
        if stream is not None and stream["status"] != "scheduled" and "duePk" in stream:
            _drop_due(stream_id)  # started or cancelled: its reminders are not sent
        return None
    return store.deserialize(response["Attributes"])


def _reminder_batches(stream_id: str, cursor: Optional[str]) -> Iterator[list[str]]:
    query: dict[str, Any] = {
        "TableName": store.table(),
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
        "ExpressionAttributeValues": store.values({":pk": f"STREAM#{stream_id}", ":prefix": "REMINDER#"}),
        "ProjectionExpression": "userId",
        "ConsistentRead": True,
    }
    if cursor:
        query["ExclusiveStartKey"] = store.serialize(store.reminder_key(stream_id, cursor))
    batch: list[str] = []
    while True:
        response = store.client().query(**query)
        for item in response.get("Items", []):
            batch.append(store.deserialize(item)["userId"])
            if len(batch) == SQS_BATCH:
                yield batch
                batch = []
        if "LastEvaluatedKey" not in response:
            break
        query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    if batch:
        yield batch


def message(stream: dict[str, Any], user_id: str) -> dict[str, Any]:
    return {
        "type": "live_stream.reminder",
        "liveStreamId": stream["id"],
        "userId": user_id,
        "title": stream["title"],
        "channelName": stream["channelName"],
        "plannedStartDate": stream.get("plannedStartDate"),
        "creator": stream["creator"],
    }


def send_batch(stream: dict[str, Any], users: list[str]) -> None:
    """One SendMessageBatch of up to 10 reminders; deduplicated per (stream, user) by the FIFO queue."""
    entries = [
        {
            "Id": str(i),
            "MessageBody": json.dumps(message(stream, user), ensure_ascii=False),
            "MessageGroupId": stream["id"],
            "MessageDeduplicationId": f"{stream['id']}:{user}",
        }
        for i, user in enumerate(users)
    ]
    response = _sqs().send_message_batch(QueueUrl=get_settings().reminder_queue_url, Entries=entries)
    if response.get("Failed"):
        raise RuntimeError(f"SQS refused {len(response['Failed'])} reminder(s) of stream {stream['id']}; the next run retries")


def _advance(stream_id: str, run_id: str, last_user: str) -> bool:
    """Record the last user sent; ``False`` when the lease was lost or the stream left ``scheduled``."""
    response = store.update_if(
        store.stream_key(stream_id),
        "SET reminderCursor = :cursor, leaseUntil = :until",
        "leaseOwner = :run AND #status = :scheduled",
        {":cursor": last_user, ":until": int(time.time()) + LEASE_SECONDS, ":run": run_id, ":scheduled": "scheduled"},
        ExpressionAttributeNames={"#status": "status"},
    )
    return response is not None


def _finish(stream_id: str, run_id: str) -> None:
    store.update_if(
        store.stream_key(stream_id),
        "SET remindersSentAt = :now REMOVE duePk, dueSk, leaseOwner, leaseUntil",
        "leaseOwner = :run",
        {":now": iso(now()), ":run": run_id},
    )


def _drop_due(stream_id: str) -> None:
    store.client().update_item(TableName=store.table(), Key=store.serialize(store.stream_key(stream_id)), UpdateExpression="REMOVE duePk, dueSk")


@lru_cache(maxsize=1)
def _sqs() -> Any:
    import boto3

    return boto3.client("sqs")
