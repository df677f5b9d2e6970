"""``livestream.schemas``: a request type declared as a pydantic-core schema validates, fails and
documents itself exactly as the equivalent pydantic model does (the reference the API's errors and
OpenAPI document were built on)."""

from __future__ import annotations

import subprocess
import sys
from typing import Annotated, Any, Optional

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, TypeAdapter, ValidationError, model_validator
from pydantic_core import ValidationError as CoreValidationError
from pydantic_core import core_schema as cs

from livestream.api import validation_details
from livestream.ids import ID_PATTERN
from livestream.rules import check_text
from livestream.schemas import Validated, field, text

Text = Annotated[str, Strict(), AfterValidator(check_text)]


class Reference(BaseModel):
    """A body of the reference kind."""

    model_config = ConfigDict(strict=True, extra="forbid")

    streamId: str = Field(pattern=ID_PATTERN, description="The stream", examples=["64d15f9e2e6c8f4d5a123456"])
    note: Optional[Text] = Field(None, max_length=10)
    count: int = Field(0, ge=0, le=5)

    @model_validator(mode="after")
    def _rule(self) -> Reference:
        if self.note == "none" and self.count:
            raise ValueError("count: must be 0 without a note")
        return self


class Declared(Validated):
    """A body of the reference kind."""

    config = cs.CoreConfig(strict=True, extra_fields_behavior="forbid")

    @classmethod
    def fields(cls) -> dict[str, cs.ModelField]:
        return {
            "streamId": field(cs.str_schema(pattern=ID_PATTERN), description="The stream", examples=["64d15f9e2e6c8f4d5a123456"]),
            "note": field(cs.nullable_schema(text(max_length=10)), default=None),
            "count": field(cs.int_schema(ge=0, le=5), default=0),
        }

    @classmethod
    def check(cls, value: Declared) -> Declared:
        if value.note == "none" and value.count:
            raise ValueError("count: must be 0 without a note")
        return value


def _outcome(validate: Any, data: Any) -> Any:
    """What a client would see: the validated fields, or the API's error details."""
    try:
        validated = validate(data)
    except (ValidationError, CoreValidationError) as exc:
        return ("errors", validation_details(exc.errors()))
    return ("ok", {name: getattr(validated, name) for name in ("streamId", "note", "count")})


values = st.one_of(st.none(), st.booleans(), st.integers(-2, 8), st.text(max_size=12), st.just("64d15f9e2e6c8f4d5a123456"), st.just("none"))
bodies = st.one_of(
    st.dictionaries(st.sampled_from(["streamId", "note", "count", "other"]), values, max_size=4),
    st.lists(values, max_size=2),
    values,
)


@given(bodies)
def test_it_accepts_and_refuses_what_the_pydantic_model_does_with_the_same_errors(body: Any) -> None:
    mine, reference = _outcome(Declared.validate, body), _outcome(Reference.model_validate, body)
    assert mine == reference


def test_an_instance_has_its_fields_as_attributes() -> None:
    body = Declared.validate({"streamId": "64d15f9e2e6c8f4d5a123456", "note": "hi"})
    assert (body.streamId, body.note, body.count) == ("64d15f9e2e6c8f4d5a123456", "hi", 0)
    assert body.as_dict() == {"streamId": "64d15f9e2e6c8f4d5a123456", "note": "hi", "count": 0}
    assert body == Declared.validate({"streamId": "64d15f9e2e6c8f4d5a123456", "note": "hi", "count": 0})


def test_a_cross_field_rule_refuses_the_body() -> None:
    with pytest.raises(CoreValidationError) as raised:
        Declared.validate({"streamId": "64d15f9e2e6c8f4d5a123456", "note": "none", "count": 2})
    assert [e["msg"] for e in raised.value.errors()] == ["Value error, count: must be 0 without a note"]


def test_its_json_schema_is_the_pydantic_models() -> None:
    mine = TypeAdapter(Declared).json_schema()
    reference = Reference.model_json_schema()
    assert mine == {**reference, "title": "Declared"}


def test_validating_loads_pydantic_core_but_not_pydantic() -> None:
    code = (
        "import sys; from livestream.schemas import Validated, field, text\n"
        "class B(Validated):\n"
        "    @classmethod\n"
        "    def fields(cls): return {'a': field(text(max_length=3))}\n"
        "assert B.validate({'a': 'abc'}).a == 'abc'\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_core')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONPATH": ":".join(sys.path)})
    assert "'pydantic'" not in loaded.stdout and "pydantic_core" in loaded.stdout
