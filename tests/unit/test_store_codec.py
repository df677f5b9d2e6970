"""The layer's DynamoDB codec (``livestream.store.codec``, no boto3 at run time) against boto3's
``TypeSerializer`` / ``TypeDeserializer`` as the reference: what we store is exactly what boto3 would
have stored, and reads back as it would have."""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from hypothesis import given, settings
from hypothesis import strategies as st

from livestream import store
from livestream.store import codec

numbers = st.integers() | st.decimals(allow_nan=False, allow_infinity=False)
scalars = st.none() | st.booleans() | numbers | st.text() | st.binary()
sets = st.frozensets(numbers, min_size=1) | st.frozensets(st.text(), min_size=1) | st.frozensets(st.binary(), min_size=1)
values = st.recursive(scalars | sets, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=12)


def outcome(serialize: Any, value: Any) -> Any:
    """The attribute value, or the kind of error (TypeError, decimal.Inexact, Rounded, Overflow …)."""
    try:
        return serialize(value)
    except (TypeError, ArithmeticError) as exc:
        return type(exc)


@settings(max_examples=400, deadline=None)
@given(values)
def test_we_store_what_boto3_would_and_read_back_what_it_would(value):
    ours = outcome(codec.attribute, value)
    assert ours == outcome(TypeSerializer().serialize, value)
    if isinstance(ours, dict):
        assert codec._deserializer.deserialize(ours) == TypeDeserializer().deserialize(ours)


def test_an_empty_set_is_refused_before_dynamodb_refuses_it():
    assert TypeSerializer().serialize(set()) == {"NS": []}  # boto3 sends it; DynamoDB answers ValidationException
    with pytest.raises(TypeError, match="empty set"):
        codec.attribute({"tags": set()})


def test_numbers_keep_dynamodbs_38_digits_and_are_never_rounded():
    assert codec.attribute(10**38 - 1) == {"N": "9" * 38}
    assert codec.attribute(Decimal("0.1") + Decimal("0.2")) == {"N": "0.3"}
    for too_precise in (10**38 + 1, Decimal("1." + "1" * 38)):
        with pytest.raises(decimal.Inexact):
            codec.attribute(too_precise)
    with pytest.raises(decimal.Overflow):
        codec.attribute(Decimal("1E+127"))
    for not_a_number in (Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), float("nan"), float("inf")):
        with pytest.raises(TypeError):
            codec.attribute(not_a_number)  # boto3 would store "-Infinity" as a number


def test_a_float_is_stored_as_the_number_it_prints_as():
    with pytest.raises(TypeError):
        TypeSerializer().serialize(9.99)
    assert codec.attribute(9.99) == {"N": "9.99"} and codec.attribute(0.1 + 0.2) == {"N": "0.30000000000000004"}
    assert store.deserialize(store.serialize({"price": 9.99})) == {"price": 9.99}


def test_a_bool_is_not_a_number_and_comes_back_a_bool():
    assert codec.attribute(True) == {"BOOL": True} and codec.attribute(1) == {"N": "1"}
    back = store.deserialize(store.serialize({"flag": False, "count": 0}))
    assert back == {"flag": False, "count": 0} and type(back["flag"]) is bool and type(back["count"]) is int


def test_nested_maps_lists_and_sets_round_trip_as_the_api_shows_them():
    item = {"pk": "STREAM#1", "meta": {"guests": ["a", "b"], "scores": {"x": Decimal("2.50"), "n": 3}, "tags": {"b", "a"}}, "raw": b"\x00\xff"}
    stored = store.serialize({**item, "gone": None})
    assert stored == TypeSerializer().serialize(item)["M"]  # ``None`` at the top is left out, as before
    assert store.deserialize(stored) == {
        "pk": "STREAM#1",
        "meta": {"guests": ["a", "b"], "scores": {"x": 2.5, "n": 3}, "tags": ["a", "b"]},
        "raw": b"\x00\xff",
    }
    assert codec.plain({"NS": ["3", "1.5"]}) == [1.5, 3]


@pytest.mark.parametrize("value", [object(), 1j, {1, "a"}, {True}, frozenset({b"x", "x"})])
def test_what_dynamodb_cannot_hold_is_a_type_error(value):
    with pytest.raises(TypeError):
        codec.attribute(value)
