"""POST /api/v1/live-stream/{id}/reminder — turn the caller's reminder on (scheduled streams only, else 409).

DynamoDB round trips: 1 TransactWriteItems (stream state check + reminder); on refusal, 1 GetItem to
say 404 or 409. Once the stream's reminders are going out, +1 TransactWriteItems makes the stream due
again so that the dispatcher's next run sends the new one (the request never sends: no SQS).
"""

from livestream import reminders
from livestream.api import StreamId, caller, create_app, handler_for
from livestream.envelope import ok

app = create_app()


@app.post("/api/v1/live-stream/<id>/reminder", summary="Turn a reminder on", tags=["Reminders"])
def set_reminder(id: StreamId):
    return ok(reminders.turn_on(id, caller(app)))


lambda_handler = handler_for(app, auth="user")
