"""What became of a write whose call failed: refused for certain, or perhaps written after all.

DynamoDB tells a refused write by its error: a cancelled transaction (``TransactionCanceledException``,
whatever its items' reasons: conditions, conflicts, throttled items), a failed condition, a request it
rejected as invalid. Nothing was written then, and a retry botocore made earlier with the same request
cannot have been either: a transaction repeated with its client token is answered as the first one was.
Any other failure leaves the outcome unknown: a timeout or a connection lost after the request was sent,
a 5xx, throttling that outlasted botocore's retries (an earlier attempt may have committed and lost its
answer). Then only reading the item back, consistently, tells.

Imported on those failure paths only: a write that succeeds never loads this module.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from livestream import store

# the error codes of a write DynamoDB refused: nothing of it was written
REFUSED = frozenset({"TransactionCanceledException", "ConditionalCheckFailedException", "ValidationException"})


def may_have_written(failure: BaseException) -> bool:
    """Whether the write that raised ``failure`` may have happened all the same. An exception raised by
    our own code is no such doubt (it comes before the call, or reads a cancellation's reasons), nor is a
    request botocore refused to send; an interruption mid-call (not an ``Exception``) is."""
    if isinstance(failure, ClientError):
        return (failure.response.get("Error") or {}).get("Code") not in REFUSED
    if isinstance(failure, ParamValidationError):
        return False
    return isinstance(failure, BotoCoreError) or not isinstance(failure, Exception)


def stream_refers_to(stream_id: str, thumbnail_key: str) -> bool:
    """Whether the stream ``stream_id`` is stored with the thumbnail ``thumbnail_key``: one strongly
    consistent GetItem of the stream's item (a failed read raises)."""
    item = store.get(store.stream_key(stream_id), consistent=True)
    return item is not None and item.get("thumbnailKey") == thumbnail_key
