"""PUT /internal/v1/live-stream/{id}/access/{userId} — Api-Token; the payment service grants access
to a paid stream. 404 when the stream or the user does not exist; repeating it is harmless.

DynamoDB round trips: 1 TransactWriteItems (two condition checks and the grant).
"""

from livestream import streams
from livestream.api import StreamId, UserId, create_app, handler_for
from livestream.envelope import ok

app = create_app()


@app.put("/internal/v1/live-stream/<id>/access/<userId>", summary="Grant a user access to a paid stream", tags=["Internal"])
def grant_access(id: StreamId, userId: UserId):
    return ok(streams.grant_access(id, userId))


lambda_handler = handler_for(app, auth="api_token")
