"""Unknown routes and wrong methods answer in the envelope; the route table matches template.yaml."""

from __future__ import annotations

from livestream.routes import ROUTES
from tests.support import routes


def test_unknown_route_is_404_in_the_envelope(api, aws):
    reply = api.get("/api/v1/nothing-here")
    assert reply.function == "RouteNotFoundFunction"
    assert reply.status == 404 and reply.json["isSuccess"] is False and reply.errors[0] == "Resource not found"


def test_a_wrong_method_is_405_with_allow(api, aws):
    reply = api.get("/api/v1/live-stream/create")
    assert reply.status == 405 and reply.errors[0] == "Method not allowed" and reply.headers["allow"] == "POST"
    reply = api.delete(f"/api/v1/live-stream/{'a' * 24}")
    assert reply.status == 405 and reply.headers["allow"] == "GET"
    reply = api.post(f"/internal/v1/users/{'a' * 24}/following/{'b' * 24}")
    assert reply.status == 405 and reply.headers["allow"] == "PUT, DELETE"


def test_route_table_matches_the_template():
    declared: dict[str, set[str]] = {}
    fallback_paths = set()
    for route in routes():
        if route.function == "RouteNotFoundFunction":
            fallback_paths.add(route.resource)
        else:
            declared.setdefault(route.resource, set()).add(route.method)
    assert {path: set(operations) for path, operations in ROUTES.items()} == declared
    # every declared path also sends its other methods to the fallback, which answers 405
    assert fallback_paths == set(declared) | {"/{proxy+}"}
