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
from typing import Any

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
        items = self.table.items
        if self.table.has_range_key:
            partition = items.get(self.hash_key)
            if self.before is not None:
                items[self.hash_key][self.range_key] = self.before
            elif partition is not None:
                partition.pop(self.range_key, None)
                if not partition:
                    del items[self.hash_key]
        elif self.before is not None:
            items[self.hash_key] = self.before
        else:
            items.pop(self.hash_key, None)


def stored(table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Item | None:
    """The item under a key, without creating the empty partition ``Table.get_item`` leaves behind."""
    partition = table.items.get(hash_key)
    if partition is None or not table.has_range_key:
        return partition
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


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto 5.2.5's ``DynamoDBBackend.transact_write_items``, with item-level rollback."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    snapshots = snapshot(self, transact_items)
    marks = stream_marks(self, transact_items)

    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[str, str, dict[str, Any]] | tuple[None, None, None]] = []  # [(Code, Message, Item), ..]
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            rollback(snapshots, marks)
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            expression_attribute_names = op.get("ExpressionAttributeNames")
            expression_attribute_values = op.get("ExpressionAttributeValues")
            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            check_unicity(table_name, key)

            current = self.get_item(table_name, key)
            if condition_expression is not None:
                condition_op = get_filter_expression(condition_expression, expression_attribute_names, expression_attribute_values)
                if not condition_op.expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)

            common = {
                "condition_expression": condition_expression,
                "expression_attribute_names": expression_attribute_names,
                "expression_attribute_values": expression_attribute_values,
            }
            if op_type == "Put":
                self.put_item(table_name, op["Item"], **common)
            elif op_type == "Delete":
                self.delete_item(table_name, key, **common)
            elif op_type == "Update":
                self.update_item(table_name, key, update_expression=op["UpdateExpression"], **common)
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            rollback(snapshots, marks)
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))  # type: ignore[arg-type]
        except Exception as e:  # moto reports any other failure as the item's cancellation reason
            errors.append((type(e).__name__, str(e), original_item))  # type: ignore[arg-type]

    if any(code is not None for code, _, _ in errors):
        rollback(snapshots, marks)
        raise TransactionCanceledException(errors)


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
        model.__new__ = staticmethod(_untracked)  # type: ignore[assignment]
        for cls in (model, *_subclasses(model)):
            cls.instances_tracked.clear()  # type: ignore[attr-defined]


def _subclasses(cls: type) -> list[type]:
    return [s for sub in cls.__subclasses__() for s in (sub, *_subclasses(sub))]
