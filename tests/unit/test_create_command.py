"""``CreateStreamCommand`` (:mod:`livestream.create_command`, a pydantic-core schema) accepts and
refuses every create body, JSON or multipart, as the pydantic model it replaced did, with the same
user-visible errors, the same validated values and idempotency fingerprint, and the same JSON Schema.
The replaced model is kept here, verbatim, as the reference."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import ValidationError as CoreValidationError

from livestream.api import validation_details
from livestream.clock import now
from livestream.create_command import CLOCK_SKEW, MAX_BROADCASTERS, MAX_GUESTS, MAX_PRICE, MAX_SCHEDULE_AHEAD, CreateStreamCommand
from livestream.ids import is_id
from livestream.rules import ISO_DATE_TIME, check_text, has_visible_character

# ---------------------------------------------------------------- the replaced pydantic model


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _is_form(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("form"))


_ASCII_WHOLE = re.compile(r"[0-9]{1,6}")
_ASCII_DECIMAL = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,9})?")


def _distinct_ids(value: list[Any]) -> list[str]:
    bad = [v for v in value if not is_id(v)]
    if bad:
        shown = bad[0] if isinstance(bad[0], str) and len(bad[0]) <= 40 else type(bad[0]).__name__
        raise ValueError(f"{shown!r} is not a user id (24 lowercase hex characters)")
    if len(set(value)) != len(value):
        raise ValueError("must not contain the same user twice")
    return value


def _form_json_array(text: str) -> Any:
    """A multipart field holding a JSON array, parsed as strictly as a JSON body."""
    from livestream.api import strict_json
    from livestream.errors import ApiError

    try:
        return strict_json(text)
    except ApiError:
        raise ValueError("must be a JSON array of user ids") from None


class Reference(BaseModel):
    """The create body, multipart or JSON, with every rule of the create section of docs/api.md.

    Validated with ``context={"form": True}`` for multipart (every value is text: numbers must be
    plain ASCII decimals, ``guests``/``broadcasters`` a JSON array in a string), else as JSON (types
    are exact: a number is a JSON number, a list a JSON array, a string a JSON string)."""

    model_config = ConfigDict(extra="ignore", title="CreateStreamCommand")

    title: str
    liveStreamType: Literal["solo", "multi"] = "solo"
    guests: list[str] = Field(default_factory=list)
    broadcasters: list[str] = Field(default_factory=list)
    price: Optional[Decimal] = Field(None, gt=0, le=MAX_PRICE, decimal_places=2)
    durationGoal: Optional[int] = Field(None, ge=1, le=1440)
    motivation: Optional[str] = Field(None, max_length=1000)
    interest: Optional[str] = Field(None, max_length=50)
    plannedStartDate: Optional[datetime] = None

    @field_validator("title", mode="before")
    @classmethod
    def _title(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("field required")
        if not isinstance(value, str):
            raise ValueError("must be a string")
        value = check_text(value).strip()
        if not value or not has_visible_character(value):
            raise ValueError("must not be empty")  # zero-width and format characters alone are empty
        if len(value) > 120:
            raise ValueError("must be at most 120 characters")
        return value

    @field_validator("motivation", "interest", "plannedStartDate", "liveStreamType", mode="before")
    @classmethod
    def _text(cls, value: Any, info: ValidationInfo) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return "solo" if info.field_name == "liveStreamType" else None
        if not isinstance(value, str):
            raise ValueError("must be an ISO 8601 date-time" if info.field_name == "plannedStartDate" else "must be a string")
        value = check_text(value, line_breaks=info.field_name == "motivation")
        if info.field_name == "plannedStartDate" and not ISO_DATE_TIME.match(value):
            raise ValueError("must be an ISO 8601 date-time")
        return value

    @field_validator("durationGoal", mode="before")
    @classmethod
    def _whole_minutes(cls, value: Any, info: ValidationInfo) -> Any:
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

    @field_validator("price", mode="before")
    @classmethod
    def _price(cls, value: Any, info: ValidationInfo) -> Any:
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

    @field_validator("guests", "broadcasters", mode="before")
    @classmethod
    def _id_list(cls, value: Any, info: ValidationInfo) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return []
        if _is_form(info) and isinstance(value, str):
            value = _form_json_array(value)
        if not isinstance(value, list):
            raise ValueError("must be a JSON array of user ids")
        return _distinct_ids(value)

    @field_validator("guests")
    @classmethod
    def _guest_cap(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_GUESTS:
            raise ValueError(f"must have at most {MAX_GUESTS} users")
        return value

    @field_validator("broadcasters")
    @classmethod
    def _broadcaster_cap(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_BROADCASTERS:
            raise ValueError(f"must have at most {MAX_BROADCASTERS} users")
        return value

    @field_validator("plannedStartDate")
    @classmethod
    def _planned(cls, value: Optional[datetime]) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        try:
            value = value.astimezone(UTC)
        except OverflowError:  # 9999-12-31T23:00:00-05:00 lies beyond year 9999 in UTC
            raise ValueError("is out of range") from None
        current = now()
        if value < current - CLOCK_SKEW:
            raise ValueError("must not be in the past")
        if value > current + MAX_SCHEDULE_AHEAD:
            raise ValueError("must be at most 90 days ahead")
        return value

    @model_validator(mode="after")
    def _roles(self) -> Reference:
        if self.broadcasters and self.liveStreamType != "multi":
            raise _FieldError("broadcasters", "only allowed for multi streams")
        overlap = set(self.broadcasters) & set(self.guests)
        if overlap:
            raise _FieldError("broadcasters", f"{sorted(overlap)[0]} is also a guest")
        return self

    def fingerprint(self) -> dict[str, Any]:
        """The request as JSON-able data, for idempotency payload validation."""
        return self.model_dump(mode="json")


class _FieldError(ValueError):
    """A cross-field rule broken by one named field (reported as ``"<field>: <message>"``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# ---------------------------------------------------------------- bodies, as a client could send them

IDS = ["64d15f9e2e6c8f4d5a123457", "64d15f9e2e6c8f4d5a123458", "64d15f9e2e6c8f4d5a123459"]
FIELDS = ["title", "liveStreamType", "guests", "broadcasters", "price", "durationGoal", "motivation", "interest", "plannedStartDate"]
ODD = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=6))
TEXTS = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["", "   ", "\u200b", "a\nb", "a\tb", "a\x00b", "\ud800", "x" * 51, "m" * 1001, "t" * 121, " T ", "solo", "multi"]),
)


def _when(offset: timedelta, style: str) -> str:
    moment = now() + offset
    shown = {"Z": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "naive": moment.strftime("%Y-%m-%dT%H:%M"), "offset": moment.astimezone().isoformat()}
    return shown[style]


OFFSETS = [timedelta(days=-2), timedelta(minutes=-30), timedelta(hours=2), timedelta(days=30), timedelta(days=89), timedelta(days=91)]
DATES = st.one_of(
    st.builds(_when, st.sampled_from(OFFSETS), st.sampled_from(["Z", "naive", "offset"])),
    st.sampled_from(
        ["2026-01-15", "1700000000", "2026-02-30T10:00", "9999-12-31T23:00:00-05:00", "0001-01-01T00:00+01:00", "soon", "2026-01-15T10:61"]
    ),
)
ID_LISTS = st.lists(
    st.one_of(st.sampled_from(IDS), st.sampled_from(["64D15F9E2E6C8F4D5A123457", "x", "64d15f9e2e6c8f4d5a12345\n"]), st.integers(0, 2)), max_size=12
)
NUMBERS = st.one_of(
    st.integers(-2, 20_000),
    st.floats(-1, 20_000, allow_nan=False),
    st.sampled_from([0.001, 9.99, 9.999, 10_000, 10_000.01, 1e-7, 1e300, 60.0, 60.5, 1440, 1441]),
)
NUMBER_TEXTS = st.one_of(
    NUMBERS.map(str),
    st.sampled_from(["9.99", "09.99", "0", "0.00", "10000", "10000.00", "10000.01", "1e3", "+5", "-5", " 5", "٣", "1.", ".5", "60", "0060", "abc"]),
)
JSON_VALUES: dict[str, Any] = {
    "title": TEXTS,
    "liveStreamType": st.one_of(st.sampled_from(["solo", "multi", "Solo", "", None]), ODD),
    "guests": st.one_of(ID_LISTS, ODD),
    "broadcasters": st.one_of(ID_LISTS, ODD),
    "price": st.one_of(NUMBERS, NUMBER_TEXTS, ODD),
    "durationGoal": st.one_of(NUMBERS, NUMBER_TEXTS, ODD),
    "motivation": st.one_of(TEXTS, ODD),
    "interest": st.one_of(TEXTS, ODD),
    "plannedStartDate": st.one_of(DATES, ODD),
}
# a multipart body: every value is text (a JSON array of ids in a text, for the lists)
ID_LIST_TEXTS = st.one_of(ID_LISTS.map(lambda ids: str(ids).replace("'", '"')), st.sampled_from(["", "[", "{}", '"x"', "[1e999]", "null"]))
FORM_VALUES: dict[str, Any] = {
    **{name: st.one_of(TEXTS, values.filter(lambda v: isinstance(v, str))) for name, values in JSON_VALUES.items()},
    "guests": ID_LIST_TEXTS,
    "broadcasters": ID_LIST_TEXTS,
    "price": NUMBER_TEXTS,
    "durationGoal": NUMBER_TEXTS,
    "plannedStartDate": DATES,
}


def _bodies(values: dict[str, Any]) -> Any:
    return st.fixed_dictionaries({}, optional={**values, "other": st.text(max_size=3)})


def _outcome(validate: Any, data: Any, context: Optional[dict[str, Any]]) -> Any:
    """What a client would see: the validated values (and what idempotency compares), or the API's errors."""
    try:
        validated = validate(data, context=context)
    except (ValidationError, CoreValidationError) as exc:
        return ("errors", validation_details(exc.errors()))
    return ("ok", {name: getattr(validated, name) for name in FIELDS}, validated.fingerprint())


@settings(max_examples=400)
@given(st.one_of(_bodies(JSON_VALUES), st.lists(st.text(max_size=3), max_size=2), ODD))
def test_a_json_body_is_accepted_and_refused_as_the_pydantic_model_did(body: Any) -> None:
    for context in (None, {"form": False}):
        assert _outcome(CreateStreamCommand.validate, body, context) == _outcome(Reference.model_validate, body, context)


@settings(max_examples=400)
@given(_bodies(FORM_VALUES))
def test_a_multipart_body_is_accepted_and_refused_as_the_pydantic_model_did(body: dict[str, str]) -> None:
    context = {"form": True}
    assert _outcome(CreateStreamCommand.validate, body, context) == _outcome(Reference.model_validate, body, context)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"title": "t", "broadcasters": [IDS[0]]}, "broadcasters: only allowed for multi streams"),
        ({"title": "t", "liveStreamType": "multi", "broadcasters": [IDS[0]], "guests": [IDS[0]]}, f"broadcasters: {IDS[0]} is also a guest"),
        ({"title": "t", "guests": [IDS[0], IDS[0]]}, "guests: must not contain the same user twice"),
        ({"title": "t", "price": 0.001}, "price: must have at most 2 decimals"),
        ({"title": "\u200b "}, "title: must not be empty"),
    ],
)
def test_each_rule_names_its_field(body: dict[str, Any], detail: str) -> None:
    with pytest.raises(CoreValidationError) as raised:
        CreateStreamCommand.validate(body)
    assert validation_details(raised.value.errors()) == [detail]


def test_a_scheduled_form_body_keeps_its_values() -> None:
    planned = now() + timedelta(days=1)
    body = {"title": " Live ", "liveStreamType": "multi", "broadcasters": f'["{IDS[1]}"]', "price": "9.90", "durationGoal": "60"}
    command = CreateStreamCommand.validate({**body, "plannedStartDate": planned.isoformat()}, context={"form": True})
    assert (command.title, command.broadcasters, command.price, command.durationGoal) == ("Live", [IDS[1]], Decimal("9.90"), 60)
    assert command.plannedStartDate == planned and command.guests == [] and command.interest is None


def test_its_json_schema_is_the_pydantic_models() -> None:
    assert TypeAdapter(CreateStreamCommand).json_schema() == Reference.model_json_schema()


def test_the_openapi_bodies_keep_the_caps() -> None:
    from livestream import openapi_models

    schema = openapi_models.CreateStreamJson.model_json_schema()["properties"]
    assert (schema["guests"]["maxItems"], schema["broadcasters"]["maxItems"]) == (MAX_GUESTS, MAX_BROADCASTERS)
    assert schema["price"]["anyOf"][0]["maximum"] == float(MAX_PRICE)


def test_validating_a_create_body_does_not_load_pydantic() -> None:
    code = (
        "import sys; from livestream.create_command import CreateStreamCommand\n"
        "CreateStreamCommand.validate({'title': 'x', 'price': '1.5'}, context={'form': True})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pydantic'))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONPATH": ":".join(sys.path)})
    assert loaded.stdout.strip() == "[]"
