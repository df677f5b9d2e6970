"""POST /api/v1/live-stream/{id}/token — fresh Agora RTC and RTM tokens, same uid, for a caller who
already joined (403 otherwise; 409 once the stream has ended).

DynamoDB round trips: 1 BatchGetItem (stream and participation).
"""

from livestream import participants
from livestream.api import StreamId, caller, create_app, handler_for
from livestream.envelope import ok

app = create_app()


@app.post("/api/v1/live-stream/<id>/token", summary="Renew Agora tokens", tags=["Joining"])
def renew_token(id: StreamId):
    return ok(participants.renew(id, caller(app)))


lambda_handler = handler_for(app, auth="user")
