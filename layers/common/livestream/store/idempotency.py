"""The idempotency table: a record per idempotency key, in the layout of Powertools' idempotency
utility (its table, its attribute names, its conditions), written through the layer's botocore client:
claimed by a conditional put, completed by an update that rides in the transaction of what the request
creates (:func:`completion`), or freed by a conditional delete.

  id                       the record's id (:mod:`livestream.idempotency` derives it from the key)
  status                   INPROGRESS while the first request runs, then COMPLETED
  expiration               Unix seconds the record lapses (the table's TTL attribute)
  in_progress_expiration   Unix milliseconds an INPROGRESS record lapses (the first request's Lambda timeout)
  validation               the hash of the first request's body
  data                     the first request's answer, as JSON (COMPLETED only)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from botocore.exceptions import ClientError

from livestream import store

IN_PROGRESS = "INPROGRESS"
COMPLETED = "COMPLETED"

# the record may be written when no record holds the id, or the one that does has lapsed, or it is
# INPROGRESS past the time its request's invocation would have timed out
_CLAIMABLE = (
    "attribute_not_exists(#id) OR #expiry < :now"
    " OR (#status = :inprogress AND attribute_exists(#in_progress_expiry) AND #in_progress_expiry < :now_in_millis)"
)


@dataclass(frozen=True)
class Held:
    """The live record that kept a claim from being written."""

    status: str
    payload_hash: Optional[str]
    response: Optional[str]


@dataclass(frozen=True)
class Claim:
    """This request's INPROGRESS record, as written: its deadlines tell it from any later claim of the id
    (a claim is taken over only once its deadline has passed, on the taker's clock, and the taker's own
    deadlines lie after its now), so the completion and the release are conditioned on them."""

    table: str
    record_id: str
    expires: int
    in_progress_until: Optional[int]


def claim(table: str, record_id: str, payload_hash: str, *, now: float, expires: int, in_progress_until: Optional[int]) -> Claim | Held:
    """Write an INPROGRESS record for ``record_id`` unless a live one holds it: the :class:`Claim` when
    written, else the record that holds it (read atomically with the refusal)."""
    item = {"id": {"S": record_id}, "expiration": {"N": str(expires)}, "status": {"S": IN_PROGRESS}, "validation": {"S": payload_hash}}
    if in_progress_until is not None:
        item["in_progress_expiration"] = {"N": str(in_progress_until)}
    try:
        store.client().put_item(
            TableName=table,
            Item=item,
            ConditionExpression=_CLAIMABLE,
            ExpressionAttributeNames={"#id": "id", "#expiry": "expiration", "#in_progress_expiry": "in_progress_expiration", "#status": "status"},
            ExpressionAttributeValues={
                ":now": {"N": str(int(now))},
                ":now_in_millis": {"N": str(int(now * 1000))},
                ":inprogress": {"S": IN_PROGRESS},
            },
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as exc:
        if not store.condition_failed(exc):
            raise
        return _held(exc.response.get("Item") or {})  # type: ignore[arg-type]  # botocore's error response is a TypedDict without Item
    return Claim(table, record_id, expires, in_progress_until)


def _held(item: dict[str, Any]) -> Held:
    def text(name: str) -> Optional[str]:
        value = item.get(name)
        return value.get("S") if value else None

    return Held(status=text("status") or IN_PROGRESS, payload_hash=text("validation"), response=text("data"))


def _still_mine(held: Claim) -> dict[str, Any]:
    """The condition (with its names and values) that the record is still ``held``, INPROGRESS."""
    condition = "#status = :inprogress AND #expiry = :claimed_expiry AND "
    names = {"#status": "status", "#expiry": "expiration", "#in_progress_expiry": "in_progress_expiration"}
    values = {":inprogress": {"S": IN_PROGRESS}, ":claimed_expiry": {"N": str(held.expires)}}
    if held.in_progress_until is None:
        condition += "attribute_not_exists(#in_progress_expiry)"
    else:
        condition += "#in_progress_expiry = :claimed_until"
        values[":claimed_until"] = {"N": str(held.in_progress_until)}
    return {"ConditionExpression": condition, "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}


def completion(held: Claim, response: str, *, expires: int) -> dict[str, Any]:
    """The TransactItem that completes ``held`` with the first request's answer, kept until ``expires``
    (Unix seconds) for its retries: one more item of the transaction that writes what the answer
    describes, so both are written or neither. It fails (``ConditionalCheckFailed``) once the claim is
    no longer this request's."""
    mine = _still_mine(held)
    return {
        "Update": {
            "TableName": held.table,
            "Key": {"id": {"S": held.record_id}},
            "UpdateExpression": "SET #data = :data, #expiry = :expiry, #status = :status",
            "ConditionExpression": mine["ConditionExpression"],
            "ExpressionAttributeNames": {**mine["ExpressionAttributeNames"], "#data": "data"},
            "ExpressionAttributeValues": {
                **mine["ExpressionAttributeValues"],
                ":data": {"S": response},
                ":expiry": {"N": str(expires)},
                ":status": {"S": COMPLETED},
            },
        }
    }


def release(held: Claim) -> None:
    """The first request failed: its key is free again. Only while the record is still its claim: a
    record another request has taken over, or completed by a transaction whose answer was lost (a
    timeout after the commit), stays."""
    try:
        store.client().delete_item(TableName=held.table, Key={"id": {"S": held.record_id}}, **_still_mine(held))
    except ClientError as exc:
        if not store.condition_failed(exc):
            raise
