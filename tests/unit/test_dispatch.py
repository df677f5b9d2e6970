"""The layer's dispatcher (livestream.dispatch, through api.create_app): one function's routes, read and
validated as Powertools' REST resolver read them, every outcome answered in the envelope."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import pytest
from pydantic import BaseModel

from livestream.api import Header, Query, StreamId, create_app
from livestream.envelope import ok
from livestream.queries import QueryInt, QueryText

STREAM = "0123456789abcdef01234567"


class Note(BaseModel):
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
