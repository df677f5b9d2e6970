"""GET /api/v2/live-stream/user/{userId}/upcoming-live-streams — optional auth; each item with `isReminderActive` (`null` for anonymous callers).

Live streams where the user is creator, broadcaster or guest first, then scheduled ones whose planned
start lies in [now − minutesBefore, now + minutesAfter], by planned start; at most `limit`.
DynamoDB round trips: 1–2 MemberIndex queries + 1 BatchGetItem per 100 keys (streams, the caller's
participations and reminders); when no stream is listed, 1 GetItem of the user's profile instead (404 if
the user service never synced it)."""

from livestream import upcoming
from livestream.api import UserId, create_app, handler_for, optional_caller
from livestream.envelope import ok

app = create_app()


@app.get("/api/v2/live-stream/user/<userId>/upcoming-live-streams", summary="Upcoming streams of a user (v2)", tags=["Upcoming"])
def upcoming_live_streams(
    userId: UserId, limit: upcoming.Limit = 10, minutesBefore: upcoming.MinutesBefore = 1440, minutesAfter: upcoming.MinutesAfter = 1440
):
    streams = upcoming.upcoming(
        userId, optional_caller(app), limit=limit, minutes_before=minutesBefore, minutes_after=minutesAfter, with_reminders=True
    )
    return ok(streams)


lambda_handler = handler_for(app, auth="optional")
