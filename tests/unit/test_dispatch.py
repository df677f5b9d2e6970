"""The layer's dispatcher (livestream.dispatch, through api.create_app): one function's routes, read and
validated as Powertools' REST resolver read them (by pydantic-core, from a closed set of declarations),
every outcome answered in the envelope."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import pytest
from pydantic import BaseModel
from pydantic_core import core_schema as cs

from livestream.api import Body, Header, Query, StreamId, create_app
from livestream.envelope import ok
from livestream.queries import QueryInt, QueryText
from livestream.schemas import Validated, field, text

STREAM = "0123456789abcdef01234567"


class Note(Validated):
    config = cs.CoreConfig(strict=True)

    @classmethod
    def fields(cls) -> dict[str, cs.ModelField]:
        return {"text": field(text(max_length=10))}


class PydanticNote(BaseModel):
    text: str


@pytest.fixture(scope="module")
def app():
    app = create_app()

    @app.get("/things/<thing>", summary="Read a thing", tags=["Things"])
    def read(
        thing: StreamId,
        limit: Annotated[QueryInt, Query(ge=1, le=10)] = 5,
        state: Annotated[Optional[QueryText], Query(max_length=20)] = None,
        key: Annotated[Optional[str], Header(alias="Idempotency-Key")] = None,
    ):
        return ok({"id": thing, "limit": limit, "state": state, "key": key})

    @app.post("/things/<thing>/notes")
    def write(thing: StreamId, note: Note):
        return ok({"id": thing, "text": note.text}, status=201)

    @app.put("/things/<thing>/note")
    def embedded(thing: StreamId, note: Annotated[Note, Body(embed=True)]):
        return ok({"id": thing, "text": note.text})

    return app


def call(app, method, path, *, query=None, multi_query=None, headers=None, multi_headers=None, body=None):
    event = {
        "httpMethod": method,
        "path": path,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "body": body,
        "isBase64Encoded": False,
    }
    result = app.resolve(event, None)
    return result["statusCode"], json.loads(result["body"]), result


def test_parameters_are_read_validated_and_passed(app):
    status, answer, result = call(app, "GET", f"/things/{STREAM}/", query={"limit": "3", "state": "created,ready"}, headers={"idempotency-key": "k1"})
    assert status == 200
    assert answer["data"] == {"id": STREAM, "limit": 3, "state": "created,ready", "key": "k1"}  # a single value keeps its commas
    assert result["multiValueHeaders"] == {"Content-Type": ["application/json"]} and result["isBase64Encoded"] is False


def test_defaults_apply_when_parameters_are_absent(app):
    assert call(app, "GET", f"/things/{STREAM}")[1]["data"] == {"id": STREAM, "limit": 5, "state": None, "key": None}


def test_a_query_parameter_sent_twice_is_400_naming_it(app):
    status, answer, _ = call(app, "GET", f"/things/{STREAM}", query={"limit": "2"}, multi_query={"limit": ["1", "2"]})
    assert status == 400 and answer["errors"] == ["Validation failed", "limit: must be sent once"]
    status, answer, _ = call(app, "GET", f"/things/{STREAM}", query={"state": "b"}, multi_query={"state": ["a", "b"]})
    assert status == 400 and answer["errors"] == ["Validation failed", "state: must be sent once"]
    status, answer, _ = call(app, "GET", f"/things/{STREAM}", query={"limit": "2"}, multi_query={"limit": ["2"]})
    assert status == 200 and answer["data"]["limit"] == 2


def test_headers_come_from_multi_value_headers_when_the_event_has_them(app):
    status, answer, _ = call(app, "GET", f"/things/{STREAM}", headers={"Idempotency-Key": "single"}, multi_headers={"IDEMPOTENCY-KEY": ["multi"]})
    assert status == 200 and answer["data"]["key"] == "multi"


def test_errors_name_each_field_path_then_query(app):
    status, answer, _ = call(app, "GET", "/things/NOT-AN-ID", query={"limit": "0", "state": "x" * 21})
    assert status == 400
    assert answer["errors"] == [
        "Validation failed",
        "thing: must be a 24-character lowercase hex id",
        "limit: must be greater than or equal to 1",
        "state: must be at most 20 characters",
    ]


def test_the_body_model(app):
    path = f"/things/{STREAM}/notes"
    assert call(app, "POST", path, body='{"text": "hi"}')[:2][0] == 201
    assert call(app, "POST", path)[1]["errors"] == ["Validation failed", "body: field required"]
    assert call(app, "POST", path, body="{}")[1]["errors"] == ["Validation failed", "text: field required"]
    assert call(app, "POST", path, body='[{"text": "first"}]')[1]["data"]["text"] == "first"  # as Powertools read a list
    status, answer, _ = call(app, "POST", path, headers={"Content-Type": "text/plain"}, body="hi")
    assert status == 415 and answer["errors"][1] == "content-type: text/plain is not accepted (send application/json)"
    status, answer, _ = call(app, "POST", path, body='{"text": NaN}')
    assert status == 400 and answer["errors"][1] == "body: NaN is not a JSON number"


def test_a_body_that_is_not_a_json_object_is_400_naming_the_body(app):
    for body in ("5", '"x"', "[]", "null", "true", "[5]"):
        status, answer, _ = call(app, "POST", f"/things/{STREAM}/notes", body=body)
        assert (status, answer["errors"]) == (400, ["Validation failed", "body: must be an object"]), body


def test_the_body_type_validates_as_declared_and_errors_name_the_field(app):
    path = f"/things/{STREAM}/notes"
    assert call(app, "POST", path, body='{"text": 5}')[1]["errors"] == ["Validation failed", "text: must be a string"]
    assert call(app, "POST", path, body='{"text": "' + "x" * 11 + '"}')[1]["errors"] == ["Validation failed", "text: must be at most 10 characters"]
    status, answer, _ = call(app, "POST", "/things/NOT-AN-ID/notes", body='{"text": "\\u0000"}')
    assert status == 400 and answer["errors"][1:] == ["thing: must be a 24-character lowercase hex id", "text: must not contain control characters"]


def test_an_embedded_body_is_read_from_its_member(app):
    path = f"/things/{STREAM}/note"
    assert call(app, "PUT", path, body='{"note": {"text": "hi"}}')[1]["data"] == {"id": STREAM, "text": "hi"}
    assert call(app, "PUT", path, body='{"text": "hi"}')[1]["errors"] == ["Validation failed", "note: field required"]
    assert call(app, "PUT", path, body='{"note": 5}')[1]["errors"] == ["Validation failed", "note: must be an object"]


@pytest.mark.parametrize(
    "declaration",
    [
        "limit: int = 1",  # a query integer is QueryInt (ASCII digits only)
        "state: str = 'x'",  # a query text is QueryText
        "state: Annotated[QueryText, Query(pattern='a+')] = 'a'",  # no such bound on a query text
        "limit: Annotated[QueryInt, Query(multiple_of=2)] = 2",
        "when: Annotated[QueryInt, Header()] = 1",  # a header is text
        "note: Optional[Note] = None",  # a body is required
        "notes: list[Note]",
        "note: PydanticNote",  # a pydantic model would load pydantic on the cold path
        "note: Annotated[PydanticNote, Body()]",
        "anything=None",
    ],
)
def test_a_declaration_outside_the_set_fails_when_the_route_is_registered(declaration):
    app = create_app()
    namespace = {"Annotated": Annotated, "Optional": Optional, "Query": Query, "Header": Header, "QueryInt": QueryInt, "QueryText": QueryText}
    exec(
        f"def handler({declaration}): pass", {**namespace, "Note": Note, "PydanticNote": PydanticNote, "Body": Body}, namespace
    )  # a route function under test
    name = declaration.split(":")[0].split("=")[0].strip()
    with pytest.raises(TypeError, match=f"handler: parameter '{name}'"):
        app.get("/things")(namespace["handler"])
    assert app.routes == []


def test_another_method_or_path_is_404(app):
    status, answer, _ = call(app, "DELETE", f"/things/{STREAM}")
    assert status == 404 and answer["errors"] == ["Resource not found", f"DELETE /things/{STREAM}: no such route"]
    assert call(app, "GET", f"/things/{STREAM}/more")[0] == 404


def test_the_routes_are_recorded_for_the_openapi_document(app):
    routes = [(r.method, r.path, r.options) for r in app.routes]
    assert routes[0] == ("GET", "/things/<thing>", {"summary": "Read a thing", "tags": ["Things"]})
    assert [(f.name, f.location, f.alias) for f in app.routes[0].fields] == [
        ("thing", "path", "thing"),
        ("limit", "query", "limit"),
        ("state", "query", "state"),
        ("key", "header", "Idempotency-Key"),
    ]
    assert [(f.name, f.location) for f in app.routes[1].fields] == [("thing", "path"), ("note", "body")]
    assert [(f.name, f.location, f.embed) for f in app.routes[2].fields] == [("thing", "path", False), ("note", "body", True)]
