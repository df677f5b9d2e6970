"""The API's route table: path template → method → how the operation answers.

template.yaml is the source of truth for which routes exist (a test fails when this table and the
template disagree). The fallback function reads the methods from here to answer 405 with
``Allow``; the OpenAPI generator reads auth, success status, data shape and error statuses.
Plain data: importing it costs nothing at cold start.
"""

from __future__ import annotations

from typing import NamedTuple


class Operation(NamedTuple):
    auth: str  # "user" (bearer JWT), "optional", "api_token", "agora_signature", "none"
    success: int
    data: str | None  # a key of livestream.openapi_models.DATA_MODELS
    errors: tuple[int, ...]
    shape: str = "envelope"  # "envelope", "platform" (live platform API), "raw"


ROUTES: dict[str, dict[str, Operation]] = {
    "/api/v1/live-stream/create": {"POST": Operation("user", 201, "Stream", (400, 401, 409, 413, 415))},
    "/api/v1/live-stream/{id}": {"GET": Operation("optional", 200, "Stream", (400, 401, 404))},
    "/api/v1/live-stream/{id}/start": {"POST": Operation("user", 200, "Stream", (400, 401, 403, 404, 409))},
    "/api/v1/live-stream/{id}/end": {"POST": Operation("user", 200, "Stream", (400, 401, 403, 404, 409))},
    "/api/v1/live-stream/join-as-broadcaster": {"POST": Operation("user", 200, "Joined", (400, 401, 403, 404, 409, 415))},
    "/api/v1/live-stream/join-as-guest": {"POST": Operation("user", 200, "Joined", (400, 401, 403, 404, 409, 415))},
    "/api/v1/live-stream/join-as-audience": {"POST": Operation("user", 200, "Joined", (400, 401, 403, 404, 409, 415))},
    "/api/v1/live-stream/{id}/leave": {"POST": Operation("user", 200, "Left", (400, 401, 404))},
    "/api/v1/live-stream/{id}/token": {"POST": Operation("user", 200, "Joined", (400, 401, 403, 404, 409))},
    "/api/v1/live-stream/{id}/viewers": {"GET": Operation("user", 200, "ViewersPage", (400, 401, 403, 404))},
    "/api/v1/live-stream/user/{userId}/upcoming-live-streams": {"GET": Operation("optional", 200, "UpcomingStreamsV1", (400, 401, 404))},
    "/api/v2/live-stream/user/{userId}/upcoming-live-streams": {"GET": Operation("optional", 200, "UpcomingStreams", (400, 401, 404))},
    "/api/v1/live-stream/{id}/reminder": {
        "POST": Operation("user", 200, "ReminderState", (400, 401, 404, 409)),
        "DELETE": Operation("user", 200, "ReminderState", (400, 401, 404)),
    },
    "/v1/live-events": {"GET": Operation("api_token", 200, "LiveEventsPage", (400, 401), shape="platform")},
    "/internal/v1/users/{userId}": {"PUT": Operation("api_token", 200, "UserProfile", (400, 401, 415))},
    "/internal/v1/users/{userId}/following/{targetUserId}": {
        "PUT": Operation("api_token", 200, "FollowEdge", (400, 401, 404)),
        "DELETE": Operation("api_token", 200, "FollowEdge", (400, 401, 404)),
    },
    "/internal/v1/live-stream/{id}/access/{userId}": {"PUT": Operation("api_token", 200, "AccessGrant", (400, 401, 404))},
    "/webhooks/agora": {"POST": Operation("agora_signature", 200, "AgoraNotificationOutcome", (400, 401, 415))},
    "/openapi.json": {"GET": Operation("none", 200, None, (), shape="raw")},
    "/docs": {"GET": Operation("none", 200, None, (), shape="raw")},
}


def allowed_methods(resource: str) -> tuple[str, ...]:
    return tuple(ROUTES.get(resource, {}))
