"""Python values ⇄ DynamoDB attribute values, without boto3.

Writing (:func:`attribute`) follows boto3's ``TypeSerializer`` (``tests/unit/test_store_codec.py`` holds
it to it) with two differences: a float is stored as the Decimal of its shortest repr (prices arrive as
floats; boto3 refuses them), and an empty set is refused here rather than sent (boto3 would send
``{"NS": []}``, which DynamoDB refuses). Numbers are refused, never rounded, beyond DynamoDB's 38
significant digits and exponent range; NaN and infinities are refused.

Reading (:func:`plain`) is Powertools' ``TypeDeserializer`` (numbers as Decimal, binary as bytes), then
whole numbers become ints, others floats, and sets sorted lists: values as the API shows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

from aws_lambda_powertools.shared.dynamodb_deserializer import TypeDeserializer

NUMBERS = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])
SET_TYPES = {"N": "NS", "S": "SS", "B": "BS"}

_deserializer = TypeDeserializer()


def attribute(value: Any) -> dict[str, Any]:
    """One Python value as a DynamoDB attribute value; ``TypeError`` for a type DynamoDB cannot hold."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):  # before numbers: a bool is an int
        return {"BOOL": value}
    if isinstance(value, int | Decimal | float):
        return {"N": number(value)}
    if isinstance(value, str | bytes | bytearray):
        return {"S" if isinstance(value, str) else "B": value}
    return _collection(value)


def _collection(value: Any) -> dict[str, Any]:
    if isinstance(value, AbstractSet):
        return _set(value)
    if isinstance(value, Mapping):
        return {"M": {key: attribute(member) for key, member in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [attribute(member) for member in value]}
    raise TypeError(f'Unsupported type "{type(value)}" for value "{value}"')


def number(value: int | Decimal | float) -> str:
    """A number as DynamoDB stores it (``decimal.Inexact`` / ``Rounded`` … beyond its precision or range)."""
    exact = NUMBERS.create_decimal(Decimal(repr(value)) if isinstance(value, float) else value)
    if not exact.is_finite():
        raise TypeError("Infinity and NaN not supported")
    return str(exact)


def _set(values: AbstractSet[Any]) -> dict[str, Any]:
    """A set of numbers, strings or binary values, all of one kind and at least one."""
    if not values:
        raise TypeError("an empty set cannot be stored: DynamoDB refuses them (leave the attribute out)")
    members = [attribute(value) for value in values]
    kinds = {kind for member in members for kind in member}
    if len(kinds) != 1 or not kinds <= SET_TYPES.keys():
        raise TypeError(f"a set must hold only numbers, only strings or only binary values: {values!r}")
    (kind,) = kinds
    return {SET_TYPES[kind]: [member[kind] for member in members]}


def plain(value: dict[str, Any]) -> Any:
    """One DynamoDB attribute value as the Python value the layer works with."""
    return _simplify(_deserializer.deserialize(value))


def _simplify(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _simplify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_simplify(v) for v in value]
    if isinstance(value, set):
        return sorted(_simplify(v) for v in value)
    return value
