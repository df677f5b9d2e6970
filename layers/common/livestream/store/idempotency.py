"""The idempotency table: a record per idempotency key, in the layout of Powertools' idempotency
utility (its table, its attribute names, its conditions), written through the layer's botocore client.

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


def claim(table: str, record_id: str, payload_hash: str, *, now: float, expires: int, in_progress_until: Optional[int]) -> Optional[Held]:
    """Write an INPROGRESS record for ``record_id`` unless a live one holds it: ``None`` when written,
    else the record that holds it (read atomically with the refusal)."""
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
        if (exc.response.get("Error") or {}).get("Code") != "ConditionalCheckFailedException":
            raise
        return _held(exc.response.get("Item") or {})  # type: ignore[arg-type]  # botocore's error response is a TypedDict without Item
    return None


def _held(item: dict[str, Any]) -> Held:
    def text(name: str) -> Optional[str]:
        value = item.get(name)
        return value.get("S") if value else None

    return Held(status=text("status") or IN_PROGRESS, payload_hash=text("validation"), response=text("data"))


def complete(table: str, record_id: str, response: str, *, expires: int) -> None:
    """The first request's answer, kept until ``expires`` (Unix seconds) for its retries."""
    store.client().update_item(
        TableName=table,
        Key={"id": {"S": record_id}},
        UpdateExpression="SET #data = :data, #expiry = :expiry, #status = :status",
        ExpressionAttributeNames={"#data": "data", "#expiry": "expiration", "#status": "status"},
        ExpressionAttributeValues={":data": {"S": response}, ":expiry": {"N": str(expires)}, ":status": {"S": COMPLETED}},
    )


def release(table: str, record_id: str) -> None:
    """The first request failed: its key is free again."""
    store.client().delete_item(TableName=table, Key={"id": {"S": record_id}})
