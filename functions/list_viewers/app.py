"""GET /api/v1/live-stream/{id}/viewers — the current audience, newest first, for participants.

DynamoDB round trips: 1 BatchGetItem (stream, caller's participation) + 1 GetItem (the newest-viewers
window, whatever the audience size) + 1 BatchGetItem per 100 keys of profiles and follow edges (2 for a
full page of 100); a search reads instead of the window 1 GetItem (its prefix's count) + 1 Query per
shard of its prefix's index key (4, ``Limit`` page × limit; a search longer than the index's 10-character
prefixes: no count, ``Limit`` (page + 1) × limit): the same at any audience size.
"""

from typing import Annotated, Optional

from livestream import participants
from livestream.api import Query, StreamId, caller, create_app, handler_for
from livestream.envelope import ok
from livestream.queries import QueryInt, QueryText

app = create_app()


@app.get("/api/v1/live-stream/<id>/viewers", summary="List a stream's viewers", tags=["Joining"])
def list_viewers(
    id: StreamId,
    page: Annotated[QueryInt, Query(ge=1, le=1000, description="Page number (page × limit ≤ 1000)")] = 1,
    limit: Annotated[QueryInt, Query(ge=1, le=100, description="Items per page (at most 100)")] = 20,
    search: Annotated[
        Optional[QueryText], Query(min_length=1, max_length=50, description="A prefix of a viewer's name, surname or username, or of a word of them")
    ] = None,
):
    return ok(participants.viewers(id, caller(app), page, limit, search))


lambda_handler = handler_for(app, auth="user")
