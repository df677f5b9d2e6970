"""GET /api/v1/live-stream/{id}/viewers — the current audience, newest first, for participants.

DynamoDB round trips: 1 BatchGetItem (stream, caller's participation) + one AudienceIndex query per
shard (up to page × limit ≤ 1,000 keys each without search; the whole audience with search) + 1
BatchGetItem per 100 keys of profiles and follow edges (2 for a full page of 100).
"""

from typing import Annotated, Optional

from aws_lambda_powertools.event_handler.openapi.params import Query

from livestream import participants
from livestream.api import StreamId, caller, create_app, handler_for
from livestream.envelope import ok

app = create_app()


@app.get("/api/v1/live-stream/<id>/viewers", summary="List a stream's viewers", tags=["Joining"])
def list_viewers(
    id: StreamId,
    page: Annotated[int, Query(ge=1, description="Page number")] = 1,
    limit: Annotated[int, Query(ge=1, le=100, description="Items per page (at most 100)")] = 20,
    search: Annotated[Optional[str], Query(max_length=100, description="Matches name, surname or username")] = None,
):
    return ok(participants.viewers(id, caller(app), page, limit, search))


lambda_handler = handler_for(app, auth="user")
