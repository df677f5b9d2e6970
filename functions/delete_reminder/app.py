"""DELETE /api/v1/live-stream/{id}/reminder — turn the caller's reminder off (off when off is fine).

DynamoDB round trips: 1 TransactWriteItems (stream existence check + delete).
"""

from livestream import reminders
from livestream.api import StreamId, caller, create_app, handler_for
from livestream.envelope import ok

app = create_app()


@app.delete("/api/v1/live-stream/<id>/reminder", summary="Turn a reminder off", tags=["Reminders"])
def delete_reminder(id: StreamId):
    return ok(reminders.turn_off(id, caller(app)))


lambda_handler = handler_for(app, auth="user")
