"""POST /api/v1/live-stream/{id}/start — creator only; `scheduled` → `active` (sets startedAt); 409 otherwise.

DynamoDB round trips: 1 GetItem + 1 TransactWriteItems (conditional on the status read).
"""

from livestream import streams
from livestream.api import StreamId, caller, create_app, handler_for
from livestream.envelope import ok

app = create_app()


@app.post("/api/v1/live-stream/<id>/start", summary="Start a live stream", tags=["Live streams"])
def start_stream(id: StreamId):
    return ok(streams.transition(id, caller(app), "start"))


lambda_handler = handler_for(app, auth="user")
