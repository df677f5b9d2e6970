"""The OpenAPI document against the code: it is what the code generates, it covers exactly the routes
of template.yaml, and real answers validate against the schemas it promises."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from local.cfn import ROOT
from tests.support import API_TOKEN, routes, user_id

DOCUMENT = ROOT / "openapi.json"
HOST, FAN = user_id(1), user_id(2)


@cache
def document() -> dict[str, Any]:
    return json.loads(DOCUMENT.read_text())


def test_the_document_is_valid_openapi():
    from openapi_spec_validator import validate

    validate(document())


def test_the_committed_document_is_what_the_code_generates():
    from tools.openapi import build, function_apps, render

    assert DOCUMENT.read_text() == render(build(function_apps())), "run `make openapi` and commit openapi.json"


def test_every_template_route_is_documented_and_every_documented_route_is_in_the_template():
    declared = {(r.resource, r.method.lower()) for r in routes() if r.method != "ANY"}
    documented = {(path, method) for path, item in document()["paths"].items() for method in item}
    assert declared == documented


def test_every_operation_documents_its_errors_and_security():
    for path, item in document()["paths"].items():
        for method, operation in item.items():
            statuses = set(operation["responses"])
            assert {"405", "429", "500"} <= statuses, (path, method)
            if path.startswith(("/api", "/internal", "/v1")):
                assert "401" in statuses and "security" in operation, (path, method)


def response_validator(path: str, method: str, status: int) -> Draft202012Validator:
    schema = document()["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    registry = Registry().with_resource("urn:doc", Resource.from_contents({**document(), "$schema": "https://json-schema.org/draft/2020-12/schema"}))
    return Draft202012Validator(_rebase(schema), registry=registry)


def _rebase(schema: dict[str, Any]) -> dict[str, Any]:
    """Point the document's local refs (#/components/...) at the registered document."""
    text = json.dumps(schema).replace('"#/components/', '"urn:doc#/components/')
    return json.loads(text)


@pytest.fixture
def scene(api):
    api.add_user(HOST)
    api.add_user(FAN)
    stream = api.create(HOST, title="Contract").data
    return stream


def test_real_answers_match_the_documented_schemas(api, scene):
    sid = scene["id"]
    calls = [
        ("/api/v1/live-stream/{id}", "get", api.get(f"/api/v1/live-stream/{sid}")),
        ("/api/v1/live-stream/join-as-audience", "post", api.post("/api/v1/live-stream/join-as-audience", json_body={"liveStreamId": sid}, user=FAN)),
        ("/api/v1/live-stream/{id}/viewers", "get", api.get(f"/api/v1/live-stream/{sid}/viewers", user=HOST)),
        (
            "/api/v2/live-stream/user/{userId}/upcoming-live-streams",
            "get",
            api.get(f"/api/v2/live-stream/user/{HOST}/upcoming-live-streams", user=FAN),
        ),
        ("/api/v1/live-stream/{id}/leave", "post", api.post(f"/api/v1/live-stream/{sid}/leave", user=FAN)),
        ("/v1/live-events", "get", api.get("/v1/live-events", api_token=API_TOKEN)),
        ("/v1/live-events", "get", api.get("/v1/live-events", query={"limit": 0}, api_token=API_TOKEN)),
        ("/api/v1/live-stream/{id}", "get", api.get("/api/v1/live-stream/nope")),
        ("/api/v1/live-stream/{id}/end", "post", api.post(f"/api/v1/live-stream/{sid}/end", user=HOST)),
        ("/api/v1/live-stream/{id}/end", "post", api.post(f"/api/v1/live-stream/{sid}/end", user=HOST)),
        ("/api/v1/live-stream/create", "post", api.create(HOST)),
    ]
    for path, method, reply in calls:
        validator = response_validator(path, method, reply.status)
        errors = sorted(validator.iter_errors(reply.json), key=str)
        assert not errors, (path, method, reply.status, [e.message for e in errors[:3]])
