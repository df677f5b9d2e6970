"""moto's DynamoDB with a cost that does not grow with the data it holds (``install()`` applies it).

moto 5.2 (pinned in requirements-dev.txt) prepares every ``TransactWriteItems`` for a rollback by
deep-copying each table the transaction names — cancelled or not, so each transaction costs time and
memory in proportion to the tables. Worse, every object moto creates is also appended to its
class's ``instances_tracked`` list (read only by moto's ``/moto-api`` dashboard) and never
released, so those copies, and every item version a write replaces, stayed in memory for good: a
local stack grew by megabytes per join to a stream with many viewers.

Two patches, both applied by the local stack and the tests:

- ``transact_write_items`` snapshots only the items the transaction writes (a copy of each, or the
  fact that it is absent) and on cancellation puts back exactly those, and removes the stream
  records the cancelled writes added. The rest is moto's own logic: the same validation, conditions
  evaluated against the state before the transaction (its items are distinct, so no write of the
  transaction affects another's condition), moto's ``put_item``/``update_item``/``delete_item``
  applying each write, the same cancellation reasons. All or nothing holds because a transaction's
  writes are undone before any other request can see them: the local server serves DynamoDB
  requests one at a time (``local.emulation.MotoServer``), as DynamoDB isolates them.
- DynamoDB's model classes (items, tables, indexes, stream records) are not registered in
  ``instances_tracked``: each lives as long as the table holds it.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from typing import Any, cast

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import SecondaryIndex, StreamRecord, StreamShard, Table

WRITES = ("Put", "Update", "Delete")


@dataclass
class Snapshot:
    """One item a transaction writes, as it was before: a private copy, or ``None`` when absent."""

    table: Table
    hash_key: DynamoType
    range_key: DynamoType | None
    before: Item | None

    def restore(self) -> None:
        if self.table.has_range_key:
            self._restore_in_partition()
        elif self.before is not None:
            self.table.items[self.hash_key] = self.before  # type: ignore[assignment] # moto types items as partitions only
        else:
            self.table.items.pop(self.hash_key, None)

    def _restore_in_partition(self) -> None:
        items = self.table.items
        partition = items.get(self.hash_key)
        if self.before is not None:
            items[self.hash_key][self.range_key] = self.before
        elif partition is not None:
            partition.pop(self.range_key, None)
            if not partition:
                del items[self.hash_key]


def stored(table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Item | None:
    """The item under a key, without creating the empty partition ``Table.get_item`` leaves behind."""
    # moto's table.items maps a hash key to its item, or (with a range key) to a partition {range key: item}
    entry = table.items.get(hash_key)
    if entry is None:
        return None
    if not table.has_range_key:
        return cast(Item, entry)
    partition: dict[DynamoType | None, Item] = entry
    return partition.get(range_key)


def snapshot(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> list[Snapshot]:
    """The items the transaction's Put/Update/Delete operations name, copied before any is applied."""
    snapshots = []
    for entry in transact_items:
        for op_type, op in entry.items():
            table = backend.tables.get(op.get("TableName")) if op_type in WRITES else None
            if table is None:
                continue  # a condition check writes nothing; an unknown table cancels the transaction
            try:
                hash_key, range_key = backend.get_keys_value(table, (op.get("Item") if op_type == "Put" else op.get("Key")) or {})
            except (MockValidationException, KeyError, StopIteration, TypeError, AttributeError):
                continue  # a key moto cannot read cancels the transaction before anything is written
            before = stored(table, hash_key, range_key)
            snapshots.append(Snapshot(table, hash_key, range_key, copy.deepcopy(before) if before is not None else None))
    return snapshots


def stream_marks(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> list[tuple[list[Any], int]]:
    """Where each named table's stream ends now, to drop the records of a cancelled transaction."""
    shards = {id(s): s for e in transact_items for op in e.values() if (s := _shard(backend, op.get("TableName"))) is not None}
    return [(shard.items, len(shard.items)) for shard in shards.values()]


def _shard(backend: DynamoDBBackend, table_name: Any) -> StreamShard | None:
    table = backend.tables.get(table_name)
    return table.stream_shard if table is not None else None


def rollback(snapshots: list[Snapshot], marks: list[tuple[list[Any], int]]) -> None:
    for item in reversed(snapshots):
        item.restore()
    for records, length in marks:
        del records[length:]


Reason = tuple[str | None, str | None, dict[str, Any] | None]  # a cancellation reason: (Code, Message, Item)
OPERATIONS = {"ConditionCheck", "Put", "Delete", "Update"}


class _ConditionFailed(ConditionalCheckFailed):
    """A transaction's condition that does not hold, with the item as it was when ``ALL_OLD`` was asked for."""

    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__(item=item)
        self.original_item = item


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto 5.2.5's ``DynamoDBBackend.transact_write_items``, with item-level rollback."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    snapshots = snapshot(self, transact_items)
    marks = stream_marks(self, transact_items)
    target_items: set[tuple[str, str]] = set()
    errors: list[Reason] = []
    for item in transact_items:
        if len(list(item.keys())) > 1:
            rollback(snapshots, marks)
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            _write(self, op_type, op, target_items)
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            rollback(snapshots, marks)
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), getattr(e, "original_item", None)))
        except Exception as e:  # moto reports any other failure as the item's cancellation reason
            errors.append((type(e).__name__, str(e), None))
    if any(code is not None for code, _, _ in errors):
        rollback(snapshots, marks)
        raise TransactionCanceledException(errors)


def _write(backend: DynamoDBBackend, op_type: str, op: dict[str, Any], target_items: set[tuple[str, str]]) -> None:
    """One operation of the transaction: its condition checked against the item as it is, then applied."""
    if op_type not in OPERATIONS:
        raise ValueError("Unsupported transaction operation")
    table_name = op["TableName"]
    key = _item_key(backend, op_type, op)
    _check_unicity(target_items, table_name, key)
    current = backend.get_item(table_name, key)
    _check_condition(op, current)
    condition = op.get("ConditionExpression")
    # None when absent, as moto's own transaction passes them (its update_item annotates them as dicts)
    names: Any = op.get("ExpressionAttributeNames")
    values: Any = op.get("ExpressionAttributeValues")
    if op_type == "Put":
        backend.put_item(table_name, op["Item"], condition_expression=condition, expression_attribute_names=names, expression_attribute_values=values)
    elif op_type == "Delete":
        backend.delete_item(table_name, key, condition_expression=condition, expression_attribute_names=names, expression_attribute_values=values)
    elif op_type == "Update":
        backend.update_item(
            table_name,
            key,
            update_expression=op["UpdateExpression"],
            condition_expression=condition,
            expression_attribute_names=names,
            expression_attribute_values=values,
        )


def _item_key(backend: DynamoDBBackend, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        key: dict[str, Any] = op["Key"]
        return key
    attrs = op["Item"]
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _check_unicity(target_items: set[tuple[str, str]], table_name: str, key: dict[str, Any]) -> None:
    item = (str(table_name), str(dict(sorted(key.items()))))
    if item in target_items:
        raise MultipleTransactionsException()
    target_items.add(item)


def _check_condition(op: dict[str, Any], current: Item | None) -> None:
    condition_expression = op.get("ConditionExpression")
    if condition_expression is None:
        return
    condition_op = get_filter_expression(condition_expression, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues"))
    if not condition_op.expr(current):
        wanted = op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current
        raise _ConditionFailed(current.to_json()["Attributes"] if wanted and current is not None else None)


def _untracked(cls: type, *args: Any, **kwargs: Any) -> Any:
    return object.__new__(cls)


UNTRACKED = (Item, Table, SecondaryIndex, StreamRecord, StreamShard)


_STREAM_LOCK = threading.Lock()
_stream_add = StreamShard.add


def _stream_add_in_order(self: StreamShard, old: Item | None, new: Item | None) -> None:
    """moto numbers a stream record ``len(records) + start`` and then appends it: writes from several
    threads (a function writing its batch concurrently, in-process) got equal sequence numbers. DynamoDB
    gives each record its own, in the order of the writes."""
    with _STREAM_LOCK:
        _stream_add(self, old, new)


def install() -> None:
    """Patch moto's DynamoDB backend in this process (once: a wrapper installed later stays)."""
    if getattr(DynamoDBBackend, "_item_level_rollback", False):
        return
    DynamoDBBackend._item_level_rollback = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    StreamShard.add = _stream_add_in_order  # type: ignore[method-assign]
    for model in UNTRACKED:
        model.__new__ = staticmethod(_untracked)  # type: ignore[method-assign] # moto tracks instances in __new__
        for cls in (model, *_subclasses(model)):
            cls.instances_tracked.clear()  # type: ignore[attr-defined]


def _subclasses(cls: type) -> list[type]:
    found: list[type] = []
    subclasses: list[type] = cls.__subclasses__()
    for sub in subclasses:
        found += [sub, *_subclasses(sub)]
    return found
