"""POST /api/v1/live-stream/{id}/end — creator only; `active` → `ended` (sets endedAt), `scheduled` → `cancelled`; 409 otherwise.

DynamoDB round trips: 1 GetItem + 1 TransactWriteItems (conditional on the status read).
"""

from livestream import streams
from livestream.api import StreamId, caller, create_app, handler_for
from livestream.envelope import ok

app = create_app()


@app.post("/api/v1/live-stream/<id>/end", summary="End a live stream", tags=["Live streams"])
def end_stream(id: StreamId):
    return ok(streams.transition(id, caller(app), "end"))


lambda_handler = handler_for(app, auth="user")
