"""DynamoDB Streams event source mappings, as Lambda runs them, for the local run and the tests.

Each ``Type: DynamoDB`` event of a function in template.yaml becomes an :class:`EventSourceMapping`
that reads the table's stream through the DynamoDB Streams API (moto implements DescribeStream,
GetShardIterator and GetRecords) and invokes the function with Lambda's event, honouring the mapping's
settings as Lambda documents them:

- ``StartingPosition`` (TRIM_HORIZON, or LATEST: only records written after the mapping started);
- ``FilterCriteria``: a record matching no filter pattern is dropped (EventBridge pattern syntax,
  evaluated with moto's EventBridge pattern matcher);
- ``BatchSize`` and ``MaximumBatchingWindowInSeconds``: a batch goes out when full, or when its oldest
  record has waited for the window;
- the function's error → the batch is retried; with ``BisectBatchOnFunctionError`` it is split in two
  first (a split does not count as a retry);
- ``FunctionResponseTypes: [ReportBatchItemFailures]``: the answer's ``batchItemFailures`` checkpoints
  before the lowest failed sequence number and retries from there (an empty or null list is success;
  an identifier that is empty or not in the batch fails the whole batch);
- ``MaximumRetryAttempts`` / ``MaximumRecordAgeInSeconds``: then the batch is skipped and its metadata
  (Lambda's invocation record with ``DDBStreamBatchInfo``) is sent to the ``OnFailure`` destination queue.

Records of a shard are delivered in order, one batch at a time (ParallelizationFactor 1). A fresh
iterator is taken from the last checkpoint on every poll: moto rolls a cancelled transaction back by
restoring a copy of the table, stream included, so an iterator kept across polls could read a shard
that no longer receives records.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Optional, cast

from local.cfn import ACCOUNT, REGION, Service, StreamEvent, Template

Invoke = Callable[[str, dict[str, Any]], tuple[str, Any]]  # (function, event) → ("ok", result) | ("error", detail)
Clients = Callable[[Service], Any]  # service name → boto3 client
READ_LIMIT = 1000  # GetRecords' maximum
POLL_SECONDS = 0.25  # Lambda polls each shard four times a second
SHARDS_TTL = 60.0


def _iso(value: datetime) -> str:
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _arrival(record: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(record["dynamodb"]["ApproximateCreationDateTime"], UTC)


def _plain(value: Any) -> Any:
    """A GetRecords answer (as boto3 parses it) → Lambda's JSON: binary values base64, times epoch seconds."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return float(int(value.timestamp()))
    return value


@dataclass
class Stats:
    invocations: int = 0
    records_delivered: int = 0  # records checkpointed after the function processed them
    records_filtered: int = 0
    retries: int = 0
    bisections: int = 0
    batches_discarded: int = 0  # sent to the on-failure destination
    records_discarded: int = 0


@dataclass
class _Attempt:
    records: list[dict[str, Any]]
    retries: int = 0  # retries consumed
    invokes: int = 0  # invocations these records were part of
    error: Optional[str] = field(default=None)  # "Unhandled" when the last invocation raised


class EventSourceMapping:
    """One function reading one table's stream with the settings of its ``Type: DynamoDB`` event."""

    def __init__(
        self,
        function: str,
        event: StreamEvent,
        stream_arn: str,
        invoke: Invoke,
        clients: Clients,
        destination_arn: Optional[str] = None,
        *,
        retry_delay: float = 0.05,
    ) -> None:
        from moto.events.models import EventPattern  # moto's EventBridge pattern matcher (Lambda filters use the same syntax)

        self.function, self.event, self.stream_arn, self.invoke = function, event, stream_arn, invoke
        self.streams = clients("dynamodbstreams")
        self.sqs = clients("sqs")
        self.destination_arn = destination_arn
        self.retry_delay = retry_delay
        self.function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"
        self.patterns = [EventPattern.load(p) for p in event.filter_patterns]
        self.stats = Stats()
        self._checkpoints: dict[str, Optional[str]] = {}  # shard → last sequence number done with
        self._waiting_since: dict[str, float] = {}  # shard → when a partial batch started waiting for the window
        self._lock = threading.Lock()
        self._shard_ids: Optional[list[str]] = None
        self._described_at = 0.0
        if event.starting_position == "LATEST":  # skip what the stream already holds
            description = self.streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]
            for shard in description.get("Shards", []):
                # an empty shard: just before its first sequence number
                self._checkpoints[shard["ShardId"]] = str(int(shard["SequenceNumberRange"]["StartingSequenceNumber"]) - 1)
                while records := self._read(shard["ShardId"]):
                    self._checkpoints[shard["ShardId"]] = records[-1]["dynamodb"]["SequenceNumber"]

    def __repr__(self) -> str:
        return f"{self.function}.{self.event.name} ← {self.stream_arn}"

    def checkpoints(self) -> list[Optional[str]]:
        """The last sequence number done with, per shard read so far (``None``: nothing yet)."""
        with self._lock:
            return list(self._checkpoints.values())

    # ---------------------------------------------------------------- reading

    def _shards(self) -> list[str]:
        """The stream's shards, described at most once a minute (DescribeStream is rate-limited)."""
        if self._shard_ids is None or time.monotonic() - self._described_at > SHARDS_TTL:
            description = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
            self._shard_ids = [s["ShardId"] for s in description.get("Shards", [])]
            self._described_at = time.monotonic()
        return self._shard_ids

    def _read(self, shard: str) -> list[dict[str, Any]]:
        """Records after the shard's checkpoint (up to GetRecords' limit), in Lambda's JSON."""
        checkpoint = self._checkpoints.get(shard)
        if checkpoint is None:
            request = {"ShardIteratorType": "TRIM_HORIZON"}
        else:
            request = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": checkpoint}
        iterator = self.streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard, **request)["ShardIterator"]
        return [_plain(r) for r in self.streams.get_records(ShardIterator=iterator, Limit=READ_LIMIT)["Records"]]

    def _matches(self, record: dict[str, Any]) -> bool:
        # moto's matcher evaluates a pattern against any JSON document; it is annotated for EventBridge events only
        return not self.patterns or any(p.matches_event(record) for p in self.patterns)  # type: ignore[arg-type]

    # ---------------------------------------------------------------- polling

    def poll(self, *, force: bool = False) -> int:
        """One poll of every shard: at most one batch each. ``force`` ignores the batching window.
        Returns the number of records consumed (delivered, filtered out or discarded)."""
        with self._lock:
            return sum(self._poll_shard(shard, force) for shard in self._shards())

    def drain(self, max_polls: int = 1000) -> int:
        """Poll until the stream has nothing new (the tests' deterministic 'let the mapping catch up')."""
        total = 0
        for _ in range(max_polls):
            consumed = self.poll(force=True)
            if not consumed:
                return total
            total += consumed
        raise RuntimeError(f"{self!r}: still consuming after {max_polls} polls")

    def _poll_shard(self, shard: str, force: bool) -> int:
        records = self._read(shard)
        if not records:
            return 0
        batch: list[dict[str, Any]] = []
        examined = 0
        for record in records:
            if len(batch) == self.event.batch_size:
                break
            examined += 1
            if self._matches(record):
                batch.append({**record, "eventSourceARN": self.stream_arn})
            else:
                self.stats.records_filtered += 1
        last_examined = records[examined - 1]["dynamodb"]["SequenceNumber"]
        if not batch:
            self._checkpoints[shard] = last_examined
            return examined
        full = len(batch) == self.event.batch_size
        if not force and not full and self.event.batching_window > 0:
            since = self._waiting_since.setdefault(shard, time.monotonic())
            if time.monotonic() - since < self.event.batching_window:
                return 0
        self._waiting_since.pop(shard, None)
        self._deliver(shard, batch)
        self._checkpoints[shard] = last_examined
        return examined

    # ---------------------------------------------------------------- delivery

    def _deliver(self, shard: str, records: list[dict[str, Any]]) -> None:
        pending: deque[_Attempt] = deque([_Attempt(records)])
        while pending:
            attempt = pending.popleft()
            if self._too_old(attempt.records):
                self._discard(shard, attempt, "RecordAgeExceeded")
                continue
            status, result = self.invoke(self.function, {"Records": attempt.records})
            self.stats.invocations += 1
            attempt.invokes += 1
            attempt.error = None if status == "ok" else "Unhandled"
            failed_from = self._failed_from(attempt.records, status, result)
            if failed_from is None:
                self._done(shard, attempt.records)
                continue
            self._done(shard, attempt.records[:failed_from])  # a partial batch response: retry from its first failure
            remaining = attempt.records[failed_from:]
            if status != "ok" and self.event.bisect and len(remaining) > 1:
                half = len(remaining) // 2
                self.stats.bisections += 1
                pending.appendleft(_Attempt(remaining[half:], attempt.retries, attempt.invokes, attempt.error))
                pending.appendleft(_Attempt(remaining[:half], attempt.retries, attempt.invokes, attempt.error))
                continue
            if 0 <= self.event.max_retries <= attempt.retries:
                self._discard(shard, attempt, "RetryAttemptsExhausted")
                continue
            self.stats.retries += 1
            time.sleep(self.retry_delay * min(attempt.retries + 1, 10))
            pending.appendleft(_Attempt(remaining, attempt.retries + 1, attempt.invokes, attempt.error))

    def _failed_from(self, records: list[dict[str, Any]], status: str, result: Any) -> Optional[int]:
        """Index of the first record to retry, ``None`` when the whole batch succeeded."""
        if status != "ok":
            return 0
        if not self.event.report_item_failures or not isinstance(result, dict):
            return None
        failures = result.get("batchItemFailures")
        if not failures:
            return None
        sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
        found = []
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not identifier or identifier not in sequence_numbers:
                return 0  # a malformed answer fails the whole batch
            found.append(sequence_numbers.index(identifier))
        return min(found)

    def _done(self, shard: str, records: list[dict[str, Any]]) -> None:
        if records:
            self._checkpoints[shard] = records[-1]["dynamodb"]["SequenceNumber"]
            self.stats.records_delivered += len(records)

    def _too_old(self, records: list[dict[str, Any]]) -> bool:
        age = self.event.max_record_age
        return age >= 0 and (datetime.now(UTC) - _arrival(records[0])).total_seconds() > age

    def _discard(self, shard: str, attempt: _Attempt, condition: str) -> None:
        """Skip the batch; its metadata goes to the on-failure destination, as Lambda's invocation record."""
        records = attempt.records
        self.stats.batches_discarded += 1
        self.stats.records_discarded += len(records)
        self._checkpoints[shard] = records[-1]["dynamodb"]["SequenceNumber"]
        if not self.destination_arn:
            return
        response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if attempt.error:
            response_context["functionError"] = attempt.error
        message = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.function_arn,
                "condition": condition,
                "approximateInvokeCount": attempt.invokes,
            },
            "responseContext": response_context,
            "version": "1.0",
            "timestamp": _iso(datetime.now(UTC)),
            "DDBStreamBatchInfo": {
                "shardId": shard,
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(_arrival(records[0])),
                "approximateArrivalOfLastRecord": _iso(_arrival(records[-1])),
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
        }
        service, name = self.destination_arn.split(":")[2], self.destination_arn.split(":")[-1]
        if service != "sqs":
            raise NotImplementedError(f"{self!r}: the local run sends failed batches to SQS destinations only, not {service}")
        url = self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
        self.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(message))


def stream_mappings(template: Template, names: dict[str, str], invoke: Invoke, clients: Clients, **options: Any) -> list[EventSourceMapping]:
    """The event source mappings of every function's ``Type: DynamoDB`` events; ``names`` resolves the
    tables and the destinations (logical id → physical name, ``<id>.Arn`` → ARN)."""
    ddb = clients("dynamodb")
    mappings = []
    for name, function in template.functions().items():
        for event in function.stream_events:
            if not event.enabled:
                continue
            table = ddb.describe_table(TableName=names[event.table])["Table"]
            if "LatestStreamArn" not in table:
                raise ValueError(f"{name}.{event.name}: table {event.table} has no stream (StreamSpecification)")
            destination = template.resolve(event.on_failure, names) if event.on_failure is not None else None
            mappings.append(EventSourceMapping(name, event, table["LatestStreamArn"], invoke, clients, destination, **options))
    return mappings


def trim_consumed(mappings: Iterable[EventSourceMapping], lock: Any) -> int:
    """Drop the stream records every mapping of their stream is done with, from moto's shards in this
    process (DynamoDB trims after 24 hours; a local run would otherwise keep every image of every write:
    about 45 KB a join). Under ``lock``, the one DynamoDB requests are served under. Records trimmed."""
    from moto.dynamodb.models import dynamodb_backends

    done: dict[str, list[Optional[str]]] = {}
    for mapping in mappings:
        done.setdefault(mapping.stream_arn, []).extend(mapping.checkpoints() or [None])
    trimmed = 0
    for stream_arn, checkpoints in done.items():
        if None in checkpoints:
            continue
        upto = min(int(c) for c in checkpoints if c is not None)
        table_name = stream_arn.split(":table/", 1)[1].split("/stream/", 1)[0]
        with lock:
            table = dynamodb_backends[ACCOUNT][REGION].tables.get(table_name)
            shard = table.stream_shard if table is not None else None
            if shard is None:
                continue
            count = min(len(shard.items), upto - shard.starting_sequence_number + 1)
            if count > 0:
                del shard.items[:count]
                shard.starting_sequence_number += count  # numbering continues where it was
                trimmed += count
    return trimmed


class StreamPoller:
    """Polls every mapping four times a second on a thread of its own (the local run); with the
    emulation's DynamoDB ``lock``, also trims the records every mapping is done with."""

    def __init__(self, mappings: Iterable[EventSourceMapping], period: float = POLL_SECONDS, trim_lock: Any = None) -> None:
        self.mappings, self.period, self.trim_lock = list(mappings), period, trim_lock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="streams", daemon=True)

    def start(self) -> None:
        if self.mappings:
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            for mapping in self.mappings:
                try:
                    mapping.poll()
                except Exception as exc:  # a poller that died silently would hide every later event
                    print(f"[streams] {mapping!r}: {type(exc).__name__}: {exc}", flush=True)
            if self.trim_lock is not None:
                trim_consumed(self.mappings, self.trim_lock)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)


def bound_moto_shard_iterators(keep: int = 1000) -> None:
    """moto keeps every shard iterator it ever handed out (two per poll here: ~8 a second, forever);
    keep only the newest ``keep`` (DynamoDB expires them after 15 minutes). Server mode only."""
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    if getattr(DynamoDBStreamsBackend, "_bounded_iterators", False):
        return
    original = DynamoDBStreamsBackend.get_records

    def get_records(self: Any, iterator_arn: str, limit: int) -> dict[str, Any]:
        result = original(self, iterator_arn, limit)
        while len(self.shard_iterators) > keep:
            self.shard_iterators.pop(next(iter(self.shard_iterators)))
        return result

    DynamoDBStreamsBackend.get_records = get_records  # type: ignore[method-assign]
    DynamoDBStreamsBackend._bounded_iterators = True  # type: ignore[attr-defined]


def patch_moto_streams() -> None:
    """Two fixes to moto 5.2.5's DynamoDB stream, for the local run and the tests (idempotent):

    - moto snapshots a table before every transaction with ``copy.deepcopy``, stream included, so each
      transaction copied every stream record ever written (a join took 0.29 s after 100 joins, 1.8 s
      after 300). Stream records are never changed once written: the snapshot now copies the list of
      them, not the records.
    - a cancelled transaction must leave no stream record (DynamoDB writes none): whatever restores the
      table, records appended by the cancelled transaction are dropped.
    """
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import StreamShard

    if getattr(StreamShard, "_patched_for_local_run", False):
        return
    StreamShard.__deepcopy__ = _shard_deepcopy  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = _dropping_cancelled_records(DynamoDBBackend.transact_write_items)  # type: ignore[method-assign]
    StreamShard._patched_for_local_run = True  # type: ignore[attr-defined]


def _shard_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
    """A copy of a stream shard that shares its (never changed) records: only the list is new."""
    import copy

    from moto.dynamodb.models.table import StreamShard

    clone = cast(StreamShard, StreamShard.__new__(StreamShard))
    memo[id(self)] = clone
    clone.__dict__.update(self.__dict__)
    clone.table = copy.deepcopy(self.table, memo)
    clone.items = list(self.items)
    return clone


def _dropping_cancelled_records(original: Callable[..., Any]) -> Callable[..., Any]:
    """``transact_write_items`` that, when the transaction fails, drops the stream records it appended."""

    def transact_write_items(self: Any, *args: Any, **kwargs: Any) -> Any:
        before = {name: len(t.stream_shard.items) for name, t in self.tables.items() if t.stream_shard is not None}
        try:
            return original(self, *args, **kwargs)
        except Exception:
            for name, length in before.items():
                shard = self.tables[name].stream_shard if name in self.tables else None
                if shard is not None and len(shard.items) > length:
                    del shard.items[length:]
            raise

    return transact_write_items
