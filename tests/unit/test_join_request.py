"""The join endpoints' body (``livestream.joins.JoinRequest``), a request type validated by pydantic-core
alone, accepts, refuses and documents itself exactly as the pydantic model it replaced (kept here as
the reference)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import ValidationError as CoreValidationError

from livestream.api import validation_details
from livestream.ids import ID_PATTERN
from livestream.joins import JoinRequest

STREAM = "64d15f9e2e6c8f4d5a123456"


class Reference(BaseModel):
    """Body of the three join endpoints."""

    model_config = ConfigDict(strict=True, title="JoinRequest")

    liveStreamId: str = Field(pattern=ID_PATTERN, description="The stream to join: 24 lowercase hex characters", examples=[STREAM])


def _outcome(validate: Any, data: Any) -> Any:
    try:
        return ("ok", validate(data).liveStreamId)
    except (ValidationError, CoreValidationError) as exc:
        return ("errors", validation_details(exc.errors()))


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.just(STREAM),
    st.just(STREAM.upper()),
    st.just(STREAM + "0"),
)
bodies = st.one_of(
    st.dictionaries(st.sampled_from(["liveStreamId", "livestreamid", "other"]), values, max_size=3),
    st.lists(values, max_size=2),
    values,
)


@given(bodies)
def test_it_accepts_and_refuses_what_the_pydantic_model_did_with_the_same_errors(body: Any) -> None:
    assert _outcome(JoinRequest.validate, body) == _outcome(Reference.model_validate, body)


def test_a_stream_id_is_read_and_anything_else_is_named() -> None:
    assert JoinRequest.validate({"liveStreamId": STREAM, "extra": 1}).liveStreamId == STREAM  # other members are ignored
    assert _outcome(JoinRequest.validate, {"liveStreamId": 5}) == ("errors", ["liveStreamId: must be a string"])
    assert _outcome(JoinRequest.validate, {"liveStreamId": "x"}) == ("errors", ["liveStreamId: must be a 24-character lowercase hex id"])
    assert _outcome(JoinRequest.validate, {}) == ("errors", ["liveStreamId: field required"])
    assert _outcome(JoinRequest.validate, []) == ("errors", ["body: must be an object"])


def test_its_json_schema_is_the_pydantic_models() -> None:
    assert TypeAdapter(JoinRequest).json_schema() == Reference.model_json_schema()
