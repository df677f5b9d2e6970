"""Each function's route validator (``livestream.dispatch``: pydantic-core, translated from the route's
declarations) accepts and refuses what the pydantic model the dispatcher used to build from the same
declarations did, with the same details in the same order (the reference is built here, as
``Route.model`` built it: one ``create_model`` field per parameter, the marker's options as ``Field``'s)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import Field as FieldOf
from pydantic import ValidationError, create_model
from pydantic_core import ValidationError as CoreValidationError

from livestream.api import validation_details
from livestream.dispatch import _located
from tests.support import load_module

FUNCTIONS = [
    "ListViewersFunction",
    "ListLiveEventsFunction",
    "UpcomingV1Function",
    "UpcomingV2Function",
    "JoinAsAudienceFunction",
    "CreateStreamFunction",
    "GetStreamFunction",
]
ORDER = ("path", "query", "header", "body")


def reference_model(route: Any) -> Any:
    definitions: dict[str, Any] = {}
    for f in sorted(route.fields, key=lambda f: ORDER.index(f.location)):
        options = {k: v for k, v in (f.marker.options if f.marker else {}).items() if k != "embed"}
        definitions[f.name] = (f.annotation, FieldOf(f.default, **options))
    return create_model(f"{route.func.__name__}_request", **definitions)


def outcome(route: Any, validate: Any, data: dict[str, Any]) -> Any:
    try:
        validated = validate(data)
    except (ValidationError, CoreValidationError) as exc:
        locations = {f.alias: f for f in route.fields}
        return ("errors", validation_details([_located(err, locations) for err in exc.errors()]))
    values = {f.name: validated[f.name] if isinstance(validated, dict) else getattr(validated, f.name) for f in route.fields}
    return ("ok", {name: getattr(value, "liveStreamId", value) for name, value in values.items()})


numbers = st.one_of(
    st.integers(-3, 1100).map(str),
    st.integers().map(str),
    st.sampled_from(["", " 5", "5 ", "+5", "-0", "007", "1e3", "1_000", "１２", "5.0", "99999999999999999", "0x1f", "Infinity"]),
)
texts = st.one_of(
    st.text(max_size=60), st.text(max_size=5000).filter(lambda s: len(s) > 200), st.sampled_from(["", "a\x00b", "\ud800", "created,ready", "x" * 51])
)
ids = st.one_of(st.sampled_from(["64d15f9e2e6c8f4d5a123456", "64D15F9E2E6C8F4D5A123456", "nope", ""]), st.text(max_size=30))
bodies = st.one_of(
    st.fixed_dictionaries({}, optional={"liveStreamId": st.one_of(ids, st.integers(), st.none(), st.booleans()), "other": st.integers()}),
    st.one_of(st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2), st.booleans()),
)


def parameters(route: Any) -> Any:
    """Any subset of the route's parameters, each with a value of its kind or of another."""
    strategies = {}
    for f in route.fields:
        kind = f.declared.kind
        own = {"int": numbers, "text": texts, "str": ids if f.location == "path" else texts, "body": bodies}[kind]
        strategies[f.alias] = st.one_of(own, numbers, texts) if kind != "body" else own
    return st.fixed_dictionaries({}, optional=strategies)


ROUTES = [(name, i) for name in FUNCTIONS for i, _ in enumerate(load_module(name).app.routes)]


@pytest.mark.parametrize(("name", "index"), ROUTES)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_the_route_validator_answers_as_the_pydantic_model_of_the_same_declarations(name: str, index: int, data: Any) -> None:
    route = load_module(name).app.routes[index]
    reference = reference_model(route)
    sent = data.draw(parameters(route))
    assert outcome(route, route.validator.validate_python, sent) == outcome(route, reference.model_validate, sent)
