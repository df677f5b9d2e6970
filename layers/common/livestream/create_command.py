"""The create body as a pydantic-core schema (:mod:`livestream.schemas`): create validates it without
loading pydantic's Python package (its OpenAPI document shows ``openapi_models.CreateStreamForm`` and
``CreateStreamJson``, which describe the same rules)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, Optional

from pydantic_core import core_schema as cs
from pydantic_core import to_jsonable_python

from livestream import clock
from livestream.ids import is_id
from livestream.rules import ISO_DATE_TIME, check_text, has_visible_character
from livestream.schemas import Validated, field

MAX_TITLE = 120
MAX_GUESTS = 10
MAX_BROADCASTERS = 5
MAX_PRICE = Decimal("10000")
CLOCK_SKEW = timedelta(minutes=1)
MAX_SCHEDULE_AHEAD = timedelta(days=90)

_ASCII_WHOLE = re.compile(r"[0-9]{1,6}")
_ASCII_DECIMAL = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,9})?")


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _is_form(info: cs.ValidationInfo) -> bool:
    return bool(info.context and info.context.get("form"))


# ---------------------------------------------------------------- each field, before its type is checked


def _title(value: Any) -> Any:
    if value is None:
        raise ValueError("field required")
    if not isinstance(value, str):
        raise ValueError("must be a string")
    value = check_text(value).strip()
    if not value or not has_visible_character(value):
        raise ValueError("must not be empty")  # zero-width and format characters alone are empty
    if len(value) > MAX_TITLE:
        raise ValueError(f"must be at most {MAX_TITLE} characters")
    return value


def _text(value: Any, *, line_breaks: bool = False) -> Any:
    value = _blank_to_none(value)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return check_text(value, line_breaks=line_breaks)


def _stream_type(value: Any) -> Any:
    value = _text(value)
    return "solo" if value is None else value


def _motivation(value: Any) -> Any:
    return _text(value, line_breaks=True)


def _planned_text(value: Any) -> Any:
    value = _blank_to_none(value)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time")
    if not ISO_DATE_TIME.match(check_text(value)):
        raise ValueError("must be an ISO 8601 date-time")
    return value


def _whole_minutes(value: Any, info: cs.ValidationInfo) -> Any:
    value = _blank_to_none(value)
    if value is None:
        return None
    if _is_form(info):
        if not isinstance(value, str) or not _ASCII_WHOLE.fullmatch(value):
            raise ValueError("must be a whole number written in ASCII digits")
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("must be a whole number")
    return value


def _price(value: Any, info: cs.ValidationInfo) -> Any:
    value = _blank_to_none(value)
    if value is None:
        return None
    if _is_form(info):
        if not isinstance(value, str) or not _ASCII_DECIMAL.fullmatch(value):
            raise ValueError("must be a decimal number written in ASCII digits, like 9.99")
        return Decimal(value)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError("must be a number")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError("must be a number") from None


def _id_list(value: Any, info: cs.ValidationInfo) -> Any:
    value = _blank_to_none(value)
    if value is None:
        return []
    if _is_form(info) and isinstance(value, str):
        value = _form_json_array(value)
    if not isinstance(value, list):
        raise ValueError("must be a JSON array of user ids")
    return _distinct_ids(value)


def _form_json_array(text: str) -> Any:
    """A multipart field holding a JSON array, parsed as strictly as a JSON body."""
    from livestream.api import strict_json
    from livestream.errors import ApiError

    try:
        return strict_json(text)
    except ApiError:
        raise ValueError("must be a JSON array of user ids") from None


def _distinct_ids(value: list[Any]) -> list[str]:
    bad = [v for v in value if not is_id(v)]
    if bad:
        shown = bad[0] if isinstance(bad[0], str) and len(bad[0]) <= 40 else type(bad[0]).__name__
        raise ValueError(f"{shown!r} is not a user id (24 lowercase hex characters)")
    if len(set(value)) != len(value):
        raise ValueError("must not contain the same user twice")
    return value


# ---------------------------------------------------------------- each field, once it has its type


def _at_most(cap: int) -> Callable[[list[str]], list[str]]:
    def check(value: list[str]) -> list[str]:
        if len(value) > cap:
            raise ValueError(f"must have at most {cap} users")
        return value

    return check


def _planned(value: Optional[datetime]) -> Optional[datetime]:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        value = value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 lies beyond year 9999 in UTC
        raise ValueError("is out of range") from None
    current = clock.now()
    if value < current - CLOCK_SKEW:
        raise ValueError("must not be in the past")
    if value > current + MAX_SCHEDULE_AHEAD:
        raise ValueError("must be at most 90 days ahead")
    return value


def _optional(before: Callable[[Any], Any], schema: cs.CoreSchema) -> cs.ModelField:
    """A field that may be absent, null or blank (all three: ``None``)."""
    return field(cs.no_info_before_validator_function(before, cs.nullable_schema(schema)), default=None)


def _user_ids(cap: int) -> cs.ModelField:
    ids = cs.with_info_before_validator_function(_id_list, cs.list_schema(cs.str_schema()))
    return field(cs.no_info_after_validator_function(_at_most(cap), ids), default_factory=list)


class CreateStreamCommand(Validated):
    """The create body, multipart or JSON, with every rule of the create section of docs/api.md.

    Validated with ``context={"form": True}`` for multipart (every value is text: numbers must be
    plain ASCII decimals, ``guests``/``broadcasters`` a JSON array in a string), else as JSON (types
    are exact: a number is a JSON number, a list a JSON array, a string a JSON string)."""

    config = cs.CoreConfig(extra_fields_behavior="ignore")

    title: str
    liveStreamType: Literal["solo", "multi"]
    guests: list[str]
    broadcasters: list[str]
    price: Optional[Decimal]
    durationGoal: Optional[int]
    motivation: Optional[str]
    interest: Optional[str]
    plannedStartDate: Optional[datetime]

    @classmethod
    def fields(cls) -> dict[str, cs.ModelField]:
        planned = cs.no_info_before_validator_function(_planned_text, cs.nullable_schema(cs.datetime_schema(microseconds_precision="truncate")))
        return {
            "title": field(cs.no_info_before_validator_function(_title, cs.str_schema())),
            "liveStreamType": field(cs.no_info_before_validator_function(_stream_type, cs.literal_schema(["solo", "multi"])), default="solo"),
            "guests": _user_ids(MAX_GUESTS),
            "broadcasters": _user_ids(MAX_BROADCASTERS),
            "price": field(
                cs.with_info_before_validator_function(_price, cs.nullable_schema(cs.decimal_schema(gt=Decimal(0), le=MAX_PRICE, decimal_places=2))),
                default=None,
            ),
            "durationGoal": field(
                cs.with_info_before_validator_function(_whole_minutes, cs.nullable_schema(cs.int_schema(ge=1, le=1440))), default=None
            ),
            "motivation": _optional(_motivation, cs.str_schema(max_length=1000)),
            "interest": _optional(_text, cs.str_schema(max_length=50)),
            "plannedStartDate": field(cs.no_info_after_validator_function(_planned, planned), default=None),
        }

    @classmethod
    def check(cls, value: CreateStreamCommand) -> CreateStreamCommand:
        if value.broadcasters and value.liveStreamType != "multi":
            raise ValueError("broadcasters: only allowed for multi streams")
        overlap = set(value.broadcasters) & set(value.guests)
        if overlap:
            raise ValueError(f"broadcasters: {sorted(overlap)[0]} is also a guest")
        return value

    def fingerprint(self) -> dict[str, Any]:
        """The request as JSON-able data, for idempotency payload validation."""
        fingerprint: dict[str, Any] = to_jsonable_python(self.as_dict())
        return fingerprint
