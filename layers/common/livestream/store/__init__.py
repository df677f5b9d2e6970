"""DynamoDB access: the single table's keys, item codecs and the few request shapes we use.

One table holds every entity (keys below); its indexes serve the access patterns of docs/architecture.md:

  pk                  sk                  what
  STREAM#<id>         META                the stream
  STREAM#<id>         MEMBER#<userId>     creator / broadcaster / guest membership (MemberIndex)
  STREAM#<id>#P<n>    PART#<userId>       a participant who joined: Agora uid, watching / streaming flags
                                          (n = shard of the user, see :func:`audience_shard`)
  STREAM#<id>#W       VIEWERS             the newest viewers, newest first (``<joinedAt>#<userId>``; the aggregator's)
  STREAM#<id>#P<n>    ACCESS#<userId>     a paid-access grant (n = shard of the user)
  STREAM#<id>#P<n>    UID#<uid>           uid uniqueness guard (which user holds the uid; n = shard of the uid)
  STREAM#<id>         REMINDER#<userId>   a user's reminder (present = on)
  CHANNEL#<name>      CHANNEL             channel-name uniqueness guard
  NOTICE#<noticeId>   NOTICE              an applied Agora notification (deduplication; expires by TTL)
  SWEEP               PRESENCE            the presence sweep's cursor (last minute fully swept)
  USER#<id>           PROFILE             a user profile synced by the user service
  USER#<id>           FOLLOWS#<targetId>  a follow edge
  SEARCH#… / SEARCHN#…                    the viewers search index and its counts (:mod:`livestream.store.audience`)

  MemberIndex   memberPk=MEMBER#<userId>, memberSk=<A|S>#<time>#<streamId>  (sparse: live and scheduled only)
  StateIndex    statePk=STATE#<created|ongoing|ended>, stateSk=<createdAt>#<streamId>
  CreatorIndex  creatorPk=CREATOR#<userId>, creatorSk=<createdAt>#<streamId>
  AudienceIndex audiencePk=AUDIENCE#<streamId>#<n>, audienceSk=<joinedAt>#<userId>  (sparse: current audience
                only; n = shard of the user)
  DueIndex      duePk=DUE#<yyyy-mm-dd of planned start>, dueSk=<plannedStartDate>#<streamId>  (sparse: reminders to send)
  ExpiryIndex   expPk=EXP#<yyyy-mm-ddThh:mm of deadline>#<shard>, expSk=<deadline>#<streamId>#<userId>
                (sparse: current viewers, by the minute their presence lapses unless renewed or confirmed)

The client (:func:`livestream.aws.client`: botocore's, without boto3) is created at import: every
function talks to the table on every request. Item codecs: :mod:`livestream.store.codec`.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional, Union, cast

from botocore.exceptions import ClientError

from livestream import aws
from livestream.aws import CLIENT_CONFIG as CLIENT_CONFIG  # re-exported: every client's retries and timeouts
from livestream.errors import RETRY_AFTER_THROTTLED, ServiceUnavailable
from livestream.settings import get_settings
from livestream.store.codec import attribute, plain

_client = aws.client("dynamodb")

META = "META"
PROFILE = "PROFILE"


def client() -> Any:
    return _client


def table() -> str:
    return get_settings().table_name


def stream_key(stream_id: str) -> dict[str, str]:
    return {"pk": f"STREAM#{stream_id}", "sk": META}


def member_key(stream_id: str, user_id: str) -> dict[str, str]:
    return {"pk": f"STREAM#{stream_id}", "sk": f"MEMBER#{user_id}"}


def access_key(stream_id: str, user_id: str) -> dict[str, str]:
    """A paid-access grant; under the user's participant partition, as every join of a paid stream reads it."""
    return {"pk": part_pk(stream_id, audience_shard(user_id)), "sk": f"ACCESS#{user_id}"}


# A stream's participants, uid guards and AudienceIndex entries are spread over AUDIENCE_SHARDS partition
# keys, so that no key takes more than a share of a join burst: at 2,000 joins/s a join writes its
# participant and, the first time, its uid guard in one transaction (2 WCU each: transactions cost
# double) — 8,000 WCU/s over 20 keys is about 400 WCU/s per key (with leaves and repeat joins ~480,
# make bench-viral), under half DynamoDB's 1,000 WCU/s per-key limit.
AUDIENCE_SHARDS = 20


def audience_shard(value: str) -> int:
    """The stable shard (0 .. AUDIENCE_SHARDS-1) of a user id or uid."""
    return int(hashlib.sha256(value.encode()).hexdigest()[:8], 16) % AUDIENCE_SHARDS


def part_pk(stream_id: str, shard: int) -> str:
    return f"STREAM#{stream_id}#P{shard}"


def stream_id_of(pk: str) -> str:
    """The stream id of a ``STREAM#<id>`` or ``STREAM#<id>#P<n>`` partition key."""
    return pk.removeprefix("STREAM#").split("#", 1)[0]


def part_key(stream_id: str, user_id: str) -> dict[str, str]:
    return {"pk": part_pk(stream_id, audience_shard(user_id)), "sk": f"PART#{user_id}"}


def uid_key(stream_id: str, uid: int) -> dict[str, str]:
    return {"pk": part_pk(stream_id, audience_shard(str(uid))), "sk": f"UID#{uid}"}


def audience_partition(stream_id: str, shard: int) -> str:
    """AudienceIndex partition key of the stream's viewers in ``shard``."""
    return f"AUDIENCE#{stream_id}#{shard}"


def window_key(stream_id: str) -> dict[str, str]:
    """The stream's newest-viewers window (kept by the aggregator): a key of its own, off the stream item's."""
    return {"pk": f"STREAM#{stream_id}#W", "sk": "VIEWERS"}


def audience_partitions(stream_id: str) -> list[str]:
    return [audience_partition(stream_id, n) for n in range(AUDIENCE_SHARDS)]


def reminder_key(stream_id: str, user_id: str) -> dict[str, str]:
    return {"pk": f"STREAM#{stream_id}", "sk": f"REMINDER#{user_id}"}


def due_marker(planned_start: str, stream_id: str) -> dict[str, str]:
    """DueIndex attributes of a scheduled stream: one partition per day of planned start."""
    return {"duePk": f"DUE#{planned_start[:10]}", "dueSk": f"{planned_start}#{stream_id}"}


def channel_key(name: str) -> dict[str, str]:
    return {"pk": f"CHANNEL#{name}", "sk": "CHANNEL"}


def notice_key(notice_id: str) -> dict[str, str]:
    return {"pk": f"NOTICE#{notice_id}", "sk": "NOTICE"}


def sweep_key() -> dict[str, str]:
    return {"pk": "SWEEP", "sk": "PRESENCE"}


EXPIRY_SHARDS = 8  # a join burst on one stream spreads its ExpiryIndex writes over 8 partitions


def expiry_bucket(minute: str, shard: int) -> str:
    """ExpiryIndex partition of the deadlines within ``minute`` (``yyyy-mm-ddThh:mm``)."""
    return f"EXP#{minute}#{shard}"


def expiry_marker(deadline: str, stream_id: str, user_id: str) -> dict[str, str]:
    """ExpiryIndex attributes of a viewer whose presence lapses at ``deadline`` (ISO, as :func:`clock.iso`)."""
    shard = int(hashlib.sha256(user_id.encode()).hexdigest()[:8], 16) % EXPIRY_SHARDS
    return {"expPk": expiry_bucket(deadline[:16], shard), "expSk": f"{deadline}#{stream_id}#{user_id}"}


def profile_key(user_id: str) -> dict[str, str]:
    return {"pk": f"USER#{user_id}", "sk": PROFILE}


def follow_key(user_id: str, target_id: str) -> dict[str, str]:
    return {"pk": f"USER#{user_id}", "sk": f"FOLLOWS#{target_id}"}


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    """Python → DynamoDB attribute values (floats become Decimals; ``None`` values are dropped)."""
    return {k: attribute(v) for k, v in item.items() if v is not None}


def deserialize(item: dict[str, Any] | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return _plain(item)


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values → Python (an item that is there)."""
    return {k: plain(v) for k, v in item.items()}


def values(mapping: dict[str, Any]) -> dict[str, Any]:
    """Expression attribute values."""
    return {k: attribute(v) for k, v in mapping.items()}


def get(key: dict[str, str], *, consistent: bool = True) -> dict[str, Any] | None:
    response = _client.get_item(TableName=table(), Key=serialize(key), ConsistentRead=consistent)
    return deserialize(response.get("Item"))


BATCH_GET_LIMIT = 100  # DynamoDB's limit of keys per BatchGetItem


def batch_get(keys: Iterable[dict[str, str]], *, consistent: bool = False) -> list[dict[str, Any]]:
    """BatchGetItem: one request per 100 distinct keys, following ``UnprocessedKeys`` until all are read."""
    distinct = [serialize(k) for k in {(k["pk"], k["sk"]): k for k in keys}.values()]
    found: list[dict[str, Any]] = []

    def send(request: dict[str, Any]) -> dict[str, Any]:
        response = _client.batch_get_item(RequestItems=request)
        found.extend(_plain(item) for item in response.get("Responses", {}).get(table(), []))
        return response.get("UnprocessedKeys") or {}

    for start in range(0, len(distinct), BATCH_GET_LIMIT):
        follow_unprocessed(send, {table(): {"Keys": distinct[start : start + BATCH_GET_LIMIT], "ConsistentRead": consistent}})
    return found


UNPROCESSED_ROUNDS = 6  # a batch request and at most 5 resends of what DynamoDB left unprocessed


def follow_unprocessed(send: Callable[[dict[str, Any]], dict[str, Any]], request: dict[str, Any]) -> int:
    """Send a batch request (``send`` answers what DynamoDB left unprocessed: it throttled those items),
    then resend what is left with jittered, doubling backoff; items still left after UNPROCESSED_ROUNDS
    are a dependency failing (503), not a loop until the function times out. Answers the requests made."""
    for attempt in range(UNPROCESSED_ROUNDS):
        if attempt:
            time.sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311 - jitter, not secrecy
        request = send(request)
        if not request:
            return attempt + 1
    raise ServiceUnavailable(retry_after=RETRY_AFTER_THROTTLED)


def get_many(*keys: dict[str, str], consistent: bool = True) -> list[dict[str, Any] | None]:
    """Several items of the table in one BatchGetItem (consistent unless asked), in the order asked
    (``None`` if absent)."""
    found = {(i["pk"], i["sk"]): i for i in batch_get(keys, consistent=consistent)}
    return [found.get((k["pk"], k["sk"])) for k in keys]


def condition_failed(exc: ClientError) -> bool:
    """A write refused by its condition. Told by the error's code, not by ``client.exceptions``' class:
    botocore makes those classes on first use without a lock, so calls failing at once on several
    threads (:mod:`~livestream.store.parallel`) could get different classes and an ``except`` miss one."""
    return bool((exc.response.get("Error") or {}).get("Code") == "ConditionalCheckFailedException")


def update_if(key: dict[str, str], update: str, condition: str, params: Optional[dict[str, Any]] = None, **extra: Any) -> Optional[dict[str, Any]]:
    """A conditional UpdateItem; ``None`` when the condition does not hold (an answer, not an error),
    else the response (with ``Attributes`` when ``ReturnValues`` was asked)."""
    request: dict[str, Any] = {"TableName": table(), "Key": serialize(key), "UpdateExpression": update, "ConditionExpression": condition, **extra}
    if params:
        request["ExpressionAttributeValues"] = values(params)
    try:
        return cast(dict[str, Any], _client.update_item(**request))
    except ClientError as exc:
        if not condition_failed(exc):
            raise
        return None


def audience_entries(partition: str, below: Optional[str], limit: int) -> list[str]:
    """Up to ``limit`` AudienceIndex sort keys (``<joinedAt>#<user>``) of one shard, newest first, older
    than ``below`` when given (one bounded Query)."""
    condition, params = "audiencePk = :pk", {":pk": partition}
    if below:
        condition += " AND audienceSk < :below"
        params[":below"] = below
    response = _client.query(
        TableName=table(),
        IndexName="AudienceIndex",
        KeyConditionExpression=condition,
        ExpressionAttributeValues=values(params),
        ScanIndexForward=False,
        Limit=limit,
    )
    return [(deserialize(item) or {})["audienceSk"] for item in response.get("Items", [])]


# ---------------------------------------------------------------- queries


def query(
    key: str,
    params: Mapping[str, Any],
    *,
    index: Optional[str] = None,
    descending: bool = False,
    page_size: Optional[int] = None,
    grow_to: Optional[int] = None,
    consistent: bool = False,
    **extra: Any,
) -> Iterator[dict[str, Any]]:
    """Every item of a Query (``key`` the KeyConditionExpression, ``params`` its attribute values),
    deserialized, page after page (one request per page of ``page_size`` items, following
    ``LastEvaluatedKey``; with ``grow_to``, each page twice the last, up to ``grow_to``: a caller that
    usually needs few items reads few, one that filters many away soon reads large pages): the only
    pagination loop of the service. Stop iterating to stop reading."""
    request = _query_request(key, params, index=index, descending=descending, page_size=page_size, consistent=consistent, **extra)
    while True:
        items, last = _query_once(request)
        yield from items
        if last is None:
            return
        request["ExclusiveStartKey"] = last
        if grow_to is not None and "Limit" in request:
            request["Limit"] = min(grow_to, request["Limit"] * 2)


def query_page(
    key: str, params: Mapping[str, Any], *, index: Optional[str] = None, page_size: int, start: Optional[dict[str, Any]] = None
) -> tuple[list[dict[str, Any]], Optional[dict[str, Any]]]:
    """One page of a Query from ``start`` (a ``LastEvaluatedKey``): its items and where the next begins (``None``: done)."""
    request = _query_request(key, params, index=index, page_size=page_size)
    if start:
        request["ExclusiveStartKey"] = start
    return _query_once(request)


def _query_request(
    key: str,
    params: Mapping[str, Any],
    *,
    index: Optional[str],
    descending: bool = False,
    page_size: Optional[int] = None,
    consistent: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    request: dict[str, Any] = {"TableName": table(), "KeyConditionExpression": key, "ExpressionAttributeValues": values(dict(params)), **extra}
    if index:
        request["IndexName"] = index
    if descending:
        request["ScanIndexForward"] = False
    if page_size:
        request["Limit"] = page_size
    if consistent:
        request["ConsistentRead"] = True
    return request


def _query_once(request: dict[str, Any]) -> tuple[list[dict[str, Any]], Optional[dict[str, Any]]]:
    response = _client.query(**request)
    return [_plain(item) for item in response.get("Items", [])], response.get("LastEvaluatedKey")


# ---------------------------------------------------------------- writes as typed operations


@dataclass(frozen=True)
class Put:
    """Put ``item`` (keys included), if ``condition`` holds."""

    item: Mapping[str, Any]
    condition: Optional[str] = None
    values: Optional[Mapping[str, Any]] = None
    names: Optional[Mapping[str, str]] = None


@dataclass(frozen=True)
class Update:
    """Update the item at ``key`` with ``expression``, if ``condition`` holds."""

    key: Mapping[str, str]
    expression: str
    condition: Optional[str] = None
    values: Optional[Mapping[str, Any]] = None
    names: Optional[Mapping[str, str]] = None


@dataclass(frozen=True)
class Delete:
    """Delete the item at ``key``, if ``condition`` holds."""

    key: Mapping[str, str]
    condition: Optional[str] = None
    values: Optional[Mapping[str, Any]] = None
    names: Optional[Mapping[str, str]] = None


@dataclass(frozen=True)
class ConditionCheck:
    """Only let the transaction through if ``condition`` holds on the item at ``key``."""

    key: Mapping[str, str]
    condition: str
    values: Optional[Mapping[str, Any]] = None
    names: Optional[Mapping[str, str]] = None


Operation = Union[Put, Update, Delete, ConditionCheck]


def request_of(op: Operation | dict[str, Any]) -> dict[str, Any]:
    """The TransactItem of an operation (``{"Put": {...}}`` …); a ready TransactItem is kept as it is."""
    if isinstance(op, dict):
        return op
    request: dict[str, Any] = {"TableName": table()}
    if isinstance(op, Put):
        request["Item"] = serialize(dict(op.item))
    else:
        request["Key"] = serialize(dict(op.key))
    if isinstance(op, Update):
        request["UpdateExpression"] = op.expression
    if op.condition:
        request["ConditionExpression"] = op.condition
    if op.values:
        request["ExpressionAttributeValues"] = values(dict(op.values))
    if op.names:
        request["ExpressionAttributeNames"] = dict(op.names)
    return {type(op).__name__: request}


def transact_codes(ops: Sequence[Operation | dict[str, Any]]) -> list[str]:
    """One transaction (:func:`transact`); ``[]`` when it was written, else the per-item reason codes
    when a condition failed (``"ConditionalCheckFailed"`` where it did, ``"None"`` where it held)."""
    try:
        transact(ops)
        return []
    except ClientError as exc:
        codes = cancellation_codes(exc)
        if "ConditionalCheckFailed" not in codes:
            raise
        return codes


CONFLICT_RETRIES = 5  # with the backoff below, about 0.4 s at most: well within a function's 10 s


def transact(items: Sequence[Operation | dict[str, Any]]) -> None:
    """TransactWriteItems, retried (with jittered backoff) while it is cancelled only because another
    transaction was touching the same items (``TransactionConflict``, e.g. joins on one stream item);
    a failed condition is the caller's to read from :func:`cancellation_codes`."""
    requests = [request_of(item) for item in items]
    for attempt in range(CONFLICT_RETRIES):
        try:
            _client.transact_write_items(TransactItems=requests)
            return
        except ClientError as exc:
            codes = cancellation_codes(exc)
            conflict_only = "TransactionConflict" in codes and set(codes) <= {"None", "TransactionConflict"}
            if not conflict_only or attempt == CONFLICT_RETRIES - 1:
                raise
            time.sleep(random.uniform(0, 0.025 * 2**attempt))  # noqa: S311 - jitter, not secrecy


def write(items: Sequence[Operation | dict[str, Any]]) -> list[str]:
    """One conditional write (``Put`` / ``Update``, as in a transaction) or, for several, a transaction.
    ``[]`` when it was written, else the per-item reason codes (as :func:`cancellation_codes`): a single
    write costs half what a one-item transaction would."""
    if len(items) == 1:
        ((kind, request),) = request_of(items[0]).items()
        call = {"Put": _client.put_item, "Update": _client.update_item, "Delete": _client.delete_item}[kind]
        try:
            call(**request)
            return []
        except ClientError as exc:
            if not condition_failed(exc):
                raise
            return ["ConditionalCheckFailed"]
    return transact_codes(items)


def cancellation_codes(exc: Exception) -> list[str]:
    """The per-item reason codes of a ``TransactionCanceledException`` (``"None"`` for items that passed)."""
    reasons: list[dict[str, Any]] = getattr(exc, "response", {}).get("CancellationReasons") or []
    return [r.get("Code", "None") for r in reasons]
