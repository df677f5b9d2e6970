"""GET /api/v1/live-stream/{id} — optional auth; ``role`` is the caller's.

DynamoDB round trips: 1 GetItem.
"""

from livestream import streams
from livestream.api import StreamId, create_app, handler_for, optional_caller
from livestream.envelope import ok

app = create_app()


@app.get("/api/v1/live-stream/<id>", summary="Get a live stream", tags=["Live streams"])
def get_stream(id: StreamId):
    return ok(streams.get_stream(id, optional_caller(app)))


lambda_handler = handler_for(app, auth="optional")
