"""Reminder items (``STREAM#<id>`` / ``REMINDER#<userId>``) and the dispatch state kept on the stream
item: DueIndex membership (``duePk``/``dueSk``), the lease (``leaseOwner``/``leaseUntil``), the batch in
flight (``inFlight``) and ``reminderRevision``. How they are used: :mod:`livestream.reminders`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any, Literal, Optional

from livestream import store
from livestream.store import ConditionCheck, Delete, Update, parallel
from livestream.store.streams import Stream, StreamStatus, get

# reminder items written before `active` existed are on
ON = "(attribute_not_exists(active) OR active = :true)"
STATUS = {"#status": "status"}
SCHEDULED = StreamStatus.SCHEDULED.value


# ---------------------------------------------------------------- on / off


def _switch_on(stream_id: str, user_id: str, at: str) -> Update:
    """The reminder item, on; ``sentAt`` (if it was sent already) is kept."""
    return Update(
        store.reminder_key(stream_id, user_id),
        "SET userId = :user, active = :true, createdAt = if_not_exists(createdAt, :now)",
        values={":user": user_id, ":true": True, ":now": at},
    )


def turn_on(stream_id: str, user_id: str, at: str) -> bool:
    """Switch the reminder on while the stream is scheduled and its dispatch has not begun (one
    transaction); ``False`` (nothing written) otherwise."""
    stream_ready = ConditionCheck(
        store.stream_key(stream_id),
        "#status = :scheduled AND attribute_not_exists(dispatchStartedAt)",
        values={":scheduled": SCHEDULED},
        names=STATUS,
    )
    return not store.transact_codes([stream_ready, _switch_on(stream_id, user_id, at)])


def turn_on_late(stream: Stream, user_id: str, at: str) -> bool:
    """Switch the reminder on and make the scheduled stream due again with a new ``reminderRevision``
    (one transaction); ``False`` when the stream left ``scheduled`` meanwhile."""
    due = {f":{k}": v for k, v in store.due_marker(stream.plannedStartDate or "", stream.id).items()}
    make_due = Update(
        store.stream_key(stream.id),
        "SET duePk = :duePk, dueSk = :dueSk ADD reminderRevision :one",
        "#status = :scheduled",
        values={**due, ":one": 1, ":scheduled": SCHEDULED},
        names=STATUS,
    )
    return not store.transact_codes([make_due, _switch_on(stream.id, user_id, at)])


def turn_off(stream_id: str, user_id: str) -> Optional[Literal["no stream", "sent"]]:
    """Delete the reminder unless it was sent (one transaction, checking the stream exists): ``None``
    when done, ``"sent"`` when it was sent (then it is kept, switched off), ``"no stream"``."""
    codes = store.transact_codes(
        [
            ConditionCheck(store.stream_key(stream_id), "attribute_exists(pk)"),
            Delete(store.reminder_key(stream_id, user_id), "attribute_not_exists(sentAt)"),
        ]
    )
    if codes[:1] == ["ConditionalCheckFailed"]:
        return "no stream"
    if not codes:
        return None
    store.update_if(store.reminder_key(stream_id, user_id), "SET active = :false", "attribute_exists(sentAt)", {":false": False})
    return "sent"


# ---------------------------------------------------------------- dispatch


def due(days: Sequence[date], until: str) -> list[str]:
    """Ids of the streams due on each of ``days`` (DueIndex: the day of their planned start) whose planned
    start is at or before ``until`` (ISO), day after day: one Query a day (every page), the days at once."""
    return [stream_id for ids in parallel.each(lambda day: _due_on(day, until), days) for stream_id in ids]


def _due_on(day: date, until: str) -> list[str]:
    items = store.query("duePk = :pk AND dueSk <= :until", {":pk": f"DUE#{day.isoformat()}", ":until": f"{until}$"}, index="DueIndex")
    return [str(item["dueSk"]).rsplit("#", 1)[1] for item in items]


def claim(stream_id: str, run_id: str, *, lease_until: int, epoch: int, at: str) -> Optional[Stream]:
    """Take the lease of a scheduled, due stream not held by a live lease of another run (one
    conditional update); the stream as it is then, or ``None``. A stream that is no longer scheduled
    but still due leaves DueIndex here."""
    response = store.update_if(
        store.stream_key(stream_id),
        "SET leaseOwner = :run, leaseUntil = :until, dispatchStartedAt = if_not_exists(dispatchStartedAt, :now)",
        "#status = :scheduled AND attribute_exists(duePk) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :epoch OR leaseOwner = :run)",
        {":run": run_id, ":until": lease_until, ":now": at, ":scheduled": SCHEDULED, ":epoch": epoch},
        ExpressionAttributeNames=STATUS,
        ReturnValues="ALL_NEW",
    )
    if response is not None:
        return Stream.of(store.deserialize(response["Attributes"]) or {})
    stream = get(stream_id)
    if stream is not None and stream.status != StreamStatus.SCHEDULED and stream.due:
        drop_due(stream_id)  # started or cancelled: its reminders are not sent
    return None


def drop_due(stream_id: str) -> None:
    store.client().update_item(TableName=store.table(), Key=store.serialize(store.stream_key(stream_id)), UpdateExpression="REMOVE duePk, dueSk")


def unsent(stream_id: str) -> Iterator[str]:
    """Users whose reminder of the stream is on and not sent, in key order (consistent reads, every page)."""
    items = store.query(
        "pk = :pk AND begins_with(sk, :prefix)",
        {":pk": store.stream_key(stream_id)["pk"], ":prefix": "REMINDER#", ":true": True},
        consistent=True,
        FilterExpression=f"attribute_not_exists(sentAt) AND {ON}",
        ProjectionExpression="userId",
    )
    return (str(item["userId"]) for item in items)


def mark_sent(stream_id: str, run_id: str, users: list[str], *, lease_until: int, at: str) -> Optional[set[str]]:
    """In one transaction: each reminder ``sentAt`` (if still on and unsent) and ``users`` the stream's
    ``inFlight`` batch, renewing the lease. ``None`` when this run lost the lease or the stream left
    ``scheduled``; else the users whose reminder refused (nothing was written if any did)."""
    stream_update = Update(
        store.stream_key(stream_id),
        "SET inFlight = :users, leaseUntil = :until",
        "leaseOwner = :run AND #status = :scheduled",
        values={":users": users, ":until": lease_until, ":run": run_id, ":scheduled": SCHEDULED},
        names=STATUS,
    )
    marks = [
        Update(
            store.reminder_key(stream_id, user),
            "SET sentAt = :sentAt",
            f"attribute_exists(pk) AND attribute_not_exists(sentAt) AND {ON}",
            values={":sentAt": at, ":true": True},
        )
        for user in users
    ]
    codes = store.transact_codes([stream_update, *marks])
    if codes[:1] == ["ConditionalCheckFailed"]:
        return None
    return {user for user, code in zip(users, codes[1:], strict=False) if code == "ConditionalCheckFailed"}


def keep_in_flight(stream_id: str, run_id: str, users: list[str]) -> None:
    """Narrow the batch in flight to ``users`` (those the queue refused), while this run holds the lease."""
    store.update_if(store.stream_key(stream_id), "SET inFlight = :failed", "leaseOwner = :run", {":failed": users, ":run": run_id})


def settle(stream_id: str, run_id: str) -> bool:
    """Forget the batch in flight (it went out); ``False`` when the lease was lost meanwhile."""
    return store.update_if(store.stream_key(stream_id), "REMOVE inFlight", "leaseOwner = :run", {":run": run_id}) is not None


def finish(stream_id: str, run_id: str, revision: Optional[int], at: str) -> bool:
    """Leave DueIndex and give the lease up, unless a reminder was turned on (a new ``reminderRevision``)
    since the claim or the lease was lost."""
    unchanged = "attribute_not_exists(reminderRevision)" if revision is None else "reminderRevision = :revision"
    params: dict[str, Any] = {":now": at, ":run": run_id}
    if revision is not None:
        params[":revision"] = revision
    response = store.update_if(
        store.stream_key(stream_id),
        "SET remindersSentAt = :now REMOVE duePk, dueSk, leaseOwner, leaseUntil, inFlight",
        f"leaseOwner = :run AND {unchanged}",
        params,
    )
    return response is not None


def release(stream_id: str, run_id: str, *, settled: bool) -> None:
    """Give the lease up (and forget the batch in flight when ``settled``), while this run holds it."""
    update = "REMOVE leaseOwner, leaseUntil" + (", inFlight" if settled else "")
    store.update_if(store.stream_key(stream_id), update, "leaseOwner = :run", {":run": run_id})
