"""The API's route table (path template → methods), for the fallback function's 404 / 405 answers.

template.yaml is the source of truth; a test fails when this table and the template disagree.
"""

from __future__ import annotations

ROUTES: dict[str, tuple[str, ...]] = {
    "/api/v1/live-stream/create": ("POST",),
    "/api/v1/live-stream/{id}": ("GET",),
    "/api/v1/live-stream/{id}/start": ("POST",),
    "/api/v1/live-stream/{id}/end": ("POST",),
    "/api/v1/live-stream/join-as-broadcaster": ("POST",),
    "/api/v1/live-stream/join-as-guest": ("POST",),
    "/api/v1/live-stream/join-as-audience": ("POST",),
    "/api/v1/live-stream/{id}/leave": ("POST",),
    "/api/v1/live-stream/{id}/token": ("POST",),
    "/api/v1/live-stream/{id}/viewers": ("GET",),
    "/api/v1/live-stream/user/{userId}/upcoming-live-streams": ("GET",),
    "/api/v2/live-stream/user/{userId}/upcoming-live-streams": ("GET",),
    "/api/v1/live-stream/{id}/reminder": ("POST", "DELETE"),
    "/v1/live-events": ("GET",),
    "/internal/v1/users/{userId}": ("PUT",),
    "/internal/v1/users/{userId}/following/{targetUserId}": ("PUT", "DELETE"),
    "/internal/v1/live-stream/{id}/access/{userId}": ("PUT",),
}


def allowed_methods(resource: str) -> tuple[str, ...]:
    return ROUTES.get(resource, ())
