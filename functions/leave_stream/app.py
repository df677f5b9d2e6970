"""POST /api/v1/live-stream/{id}/leave — the caller stops watching (or streaming); a no-op, 200,
for a stream the caller is not in.

DynamoDB round trips: 1 BatchGetItem + at most 1 TransactWriteItems (participant and audience count).
"""

from livestream import participants
from livestream.api import StreamId, caller, create_app, handler_for
from livestream.envelope import ok

app = create_app()


@app.post("/api/v1/live-stream/<id>/leave", summary="Leave a live stream", tags=["Joining"])
def leave_stream(id: StreamId):
    return ok(participants.leave(id, caller(app)))


lambda_handler = handler_for(app, auth="user")
